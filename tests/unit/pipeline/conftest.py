import nbformat
import pytest


def write_notebook(path, params: str | None, *cells: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out = []
    if params is not None:
        c = nbformat.v4.new_code_cell(params)
        c.metadata["tags"] = ["parameters"]
        out.append(c)
    out += [nbformat.v4.new_code_cell(src) for src in cells]
    nb.cells = out
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def notebook():
    return write_notebook
