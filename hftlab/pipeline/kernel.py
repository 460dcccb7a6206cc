"""The Jupyter kernel pipelines run notebooks with: this interpreter (the venv's python), always.

The notebooks name the standard `python3` kernel. jupyter_client starts a kernelspec whose command
is a bare `python` with the interpreter that launches it (`sys.executable`), which is the venv's
when papermill runs from .venv/bin. A `python3` kernelspec pointing at another interpreter (one in
~/.local/share/jupyter wins over the venv's) would run the notebooks without hftlab's packages;
then a kernelspec `hftlab` with this interpreter's absolute path is installed into the venv
(`python -m ipykernel install --sys-prefix --name hftlab`) and used instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT = "python3"
FALLBACK = "hftlab"
_BARE = {"python", f"python{sys.version_info[0]}", f"python{sys.version_info[0]}.{sys.version_info[1]}"}


def runs_here(argv: list[str]) -> bool:
    """Whether a kernelspec's command starts this interpreter."""
    if not argv:
        return False
    exe = argv[0]
    if exe in _BARE:  # jupyter_client substitutes sys.executable for these
        return True
    try:
        return Path(exe).resolve() == Path(sys.executable).resolve() or os.path.samefile(exe, sys.executable)
    except OSError:
        return False


def ensure_kernel() -> str:
    """The name of a kernelspec that runs this interpreter, installing `hftlab` into sys.prefix if needed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    ksm = KernelSpecManager()
    for name in (DEFAULT, FALLBACK):
        try:
            if runs_here(ksm.get_kernel_spec(name).argv):
                return name
        except NoSuchKernel:
            pass
    from ipykernel.kernelspec import install

    install(kernel_name=FALLBACK, display_name=f"Python {sys.version_info[0]}.{sys.version_info[1]} (hftlab)",
            prefix=sys.prefix)
    spec = KernelSpecManager().get_kernel_spec(FALLBACK)
    if not runs_here(spec.argv):
        raise RuntimeError(f"the kernelspec {FALLBACK!r} at {spec.resource_dir} starts {spec.argv[0]}, not "
                           f"{sys.executable}; remove it (jupyter kernelspec remove {FALLBACK}) and run again")
    return FALLBACK
