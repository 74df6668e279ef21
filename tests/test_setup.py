"""The two-command promise and the lock: checked against the files a fresh clone has."""
import re
import tomllib
from pathlib import Path

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
