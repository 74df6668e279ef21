"""The two-command promise and the lock: checked against the files a fresh clone has."""
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_readme_opens_with_exactly_two_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]
    assert commands == ["make lab", "make test"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def test_every_dependency_is_pinned_in_the_lock_at_the_same_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = _lock()
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    for requirement in wanted:
        name, version = requirement.split("==")
        assert lock.get(re.sub(r"[-_.]+", "-", name).lower()) == version, requirement


def test_torch_is_the_cpu_pin_not_a_cuda_pull():
    assert _lock()["torch"] == "2.13.0"


def test_environment_yml_uses_the_same_lock():
    text = (ROOT / "environment.yml").read_text()
    assert "-r requirements.txt" in text and "python=3.11" in text


def test_the_course_python_is_one_every_account_can_run():
    """Learner accounts on a hub and the grader's sandboxes run this interpreter: no folder on its
    way may be closed to other users (pyenv under root's 0700 home is)."""
    import os
    import sys

    path = Path(os.path.realpath(sys.executable))
    shut = [str(p) for p in path.parents if not os.stat(p).st_mode & 0o001]
    assert not shut, f"{path} lies under {shut[-1]}, which other accounts cannot enter"


def test_make_lab_opens_lessons_and_exercises_but_not_solutions(tmp_path):
    import shlex
    import subprocess

    from jupyter_server.services.contents.filemanager import FileContentsManager

    lines = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    view = next(line for line in lines if line.startswith("mkdir -p "))
    lab = shlex.split(next(line for line in lines if " lab " in line and "root_dir" in line))
    subprocess.run(view, shell=True, cwd=ROOT, check=True)  # what `make lab` does before it starts
    root = ROOT / next(a for a in lab if a.startswith("--ServerApp.root_dir=")).split("=", 1)[1]
    contents = FileContentsManager(root_dir=str(root))
    assert sorted(c["name"] for c in contents.get("")["content"]) == ["exercises", "lessons"]
    assert contents.get("exercises/ps03/ps03.ipynb")["type"] == "notebook"
    assert any(c["name"].startswith("00_") for c in contents.get("lessons")["content"])
    with pytest.raises(Exception):
        contents.get("../solutions/ps03/ps03.ipynb")
