import sys

from hftlab.pipeline.kernel import ensure_kernel, runs_here


def test_which_kernel_commands_run_this_interpreter(tmp_path):
    assert runs_here(["python", "-m", "ipykernel_launcher"])  # jupyter_client substitutes sys.executable
    assert runs_here([sys.executable, "-m", "ipykernel_launcher"])
    assert not runs_here([str(tmp_path / "other" / "python3.9")])
    assert not runs_here(["/usr/bin/env"]) and not runs_here([])


def test_the_chosen_kernel_runs_this_interpreter():
    from jupyter_client.kernelspec import KernelSpecManager

    assert runs_here(KernelSpecManager().get_kernel_spec(ensure_kernel()).argv)
