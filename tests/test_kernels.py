"""Each kernelspec in kernels/ is installed in the venv and selects its backend for a notebook."""
import json
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

KERNELS = sorted(p.name for p in (Path(__file__).parents[1] / "kernels").iterdir() if p.is_dir())


def test_there_is_one_kernel_per_backend_and_one_for_the_second_family():
    assert KERNELS == ["portalit-cloud", "portalit-local-cpu", "portalit-local-cpu-gemma", "portalit-local-gpu",
                       "portalit-server"]


@pytest.mark.parametrize("name", KERNELS)
def test_kernel_is_installed_in_this_environment(name):
    import sys

    spec = KernelSpecManager().get_kernel_spec(name)
    assert spec.resource_dir.startswith(sys.prefix), "installed with --sys-prefix, not --user"


@pytest.mark.parametrize("name", KERNELS)
def test_notebook_under_kernel_sees_its_backend(name):
    backend = name.removeprefix("portalit-").removesuffix("-gemma")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os, json, portalit\n"
        "c = portalit.client()\n"
        "print(json.dumps({'env': os.environ.get('PORTALIT_BACKEND'), 'client': c.backend,"
        " 'api_base': os.environ.get('PORTALIT_API_BASE'), 'model': c.model}))")]
    NotebookClient(nb, kernel_name=name, timeout=120).execute()
    seen = json.loads(nb.cells[0].outputs[0]["text"])
    assert seen["env"] == backend and seen["client"] == backend
    if backend == "server":
        assert seen["api_base"] == "http://127.0.0.1:8000/v1"
    if name.endswith("-gemma"):
        assert seen["model"] == "gemma3-270m"
