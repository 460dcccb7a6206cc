"""The install is reproducible: environment.yml, pyproject.toml and the lock agree."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_environment_yml_matches_pyproject():
    project = _pyproject()
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"]) | set(project["optional-dependencies"]["bench"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert set(pip) == wanted


def test_torch_is_pinned_to_the_cpu_wheel():
    assert "torch==2.13.0" in _pyproject()["dependencies"]
    lock = (ROOT / "constraints.txt").read_text().splitlines()
    assert any(line.startswith("torch==2.13.0") for line in lock)


def test_every_pin_agrees_with_the_lock():
    lock = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, ver = line.split("==", 1)
            lock[name.lower().replace("_", "-")] = ver
    project = _pyproject()
    pins = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    for pin in pins:
        name, ver = pin.split("==")
        name = name.split("[")[0].lower().replace("_", "-")
        assert lock.get(name, "").split("+")[0] == ver, f"{pin} disagrees with constraints.txt ({lock.get(name)})"
