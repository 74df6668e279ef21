import subprocess
import sys

import portalit
from portalit import backends
from portalit.session import ChatResult
from portalit.widgets import BackendPicker, PromptLab
from portalit.widgets.prompt_lab import cost_text

from .conftest import assert_controls_labelled

QUESTION = "Which city is the capital of France?"


def test_picker_lists_backends_with_status_and_models(shared_client):
    picker = BackendPicker()
    assert picker.error is None
    assert list(picker.statuses) == backends.names()
    assert picker.statuses["local-cpu"]["ready"] is True
    assert [value for _, value in picker.backend.options] == backends.names()
    assert picker.backend.options[0][0] == "local-cpu — ready"
    assert "smollm2-135m" in picker.model.options
    for name in backends.names():
        assert f'data-backend="{name}"' in picker.status_table.value
    assert "Last call: none yet" in picker.latency_line.value
    picker.close()


def test_switching_calls_use_so_every_later_cell_follows(shared_client):
    picker = BackendPicker()
    picker.backend.value = "cloud"
    assert portalit.client().backend == "cloud" and picker.model.value == "openai/gpt-4o-mini"
    assert "openai/gpt-4o-mini" in picker.model.options
    assert "cloud" in picker.active_line.value
    picker.model.value = "openai/gpt-4o"
    assert portalit.client().model == "openai/gpt-4o"
    portalit.use("local-cpu")  # a cell switching the client moves the picker too
    assert picker.backend.value == "local-cpu" and picker.model.value == "smollm2-135m"
    picker.close()


def test_a_bad_model_keeps_the_client_and_says_why(shared_client):
    picker = BackendPicker()
    before = portalit.use("local-cpu")
    assert picker.select("local-cpu", "no-such-model") is None
    assert "unknown chat model 'no-such-model'" in picker.error
    assert portalit.client() is before and picker.model.value == "smollm2-135m"
    picker.close()


def test_server_backend_shows_its_url(shared_client, server_url):
    picker = BackendPicker()
    picker.api_base.value = server_url
    picker.select("server")
    assert portalit.client().target.kwargs["api_base"] == server_url
    assert picker.api_base.layout.display is None
    assert picker.model_choices("server")  # listed by the running server
    picker.close()


def test_prompt_lab_answers_on_local_cpu_and_the_picker_shows_latency(shared_client):
    portalit.use("local-cpu")
    picker = BackendPicker()
    lab = PromptLab(max_tokens=24)
    results = lab.run(QUESTION)
    assert lab.error is None and len(results) == 1
    result = results[0]
    assert "Paris" in result.text and result.backend == "local-cpu"
    assert result.usage["completion_tokens"] > 0 and result.latency_s > 0
    panel = lab.panels[0].value
    assert "Paris" in panel and "answer tokens" in panel and "cost $0" in panel
    assert picker.last_call is result and "Last call:" in picker.latency_line.value
    # A chat in any cell reaches the picker through the session's "call" event.
    portalit.client().chat("Hi", max_tokens=2)
    assert picker.last_call is portalit.client().last is not result
    picker.close()


def test_prompt_lab_compares_two_backends_side_by_side(shared_client, server_url):
    portalit.use("local-cpu")
    lab = PromptLab(compare=True, max_tokens=24, second=("server", None, {"api_base": server_url}))
    results = lab.run(QUESTION, system="Answer in one short sentence.")
    assert lab.panel_errors == [None, None], lab.panel_errors
    assert [r.backend for r in results] == ["local-cpu", "server"]
    assert all(r.text.strip() for r in results)
    assert "server" in lab.panels[1].value and "cost $0" in lab.panels[1].value


def test_a_failing_second_backend_does_not_stop_the_first(shared_client, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir("/")  # no .env with a key up the tree
    portalit.use("local-cpu")
    lab = PromptLab(compare=True, max_tokens=8, second=("cloud", "openai/gpt-4o-mini"))
    results = lab.run(QUESTION)
    assert results[0] is not None and results[1] is None
    assert "OPENAI_API_KEY" in lab.panel_errors[1] and "second:" in lab.error
    assert 'role="alert"' in lab.panels[1].value


def test_empty_prompt_is_one_line_and_calls_nothing():
    lab = PromptLab()
    assert lab.run("   ") == [] and "the prompt is empty" in lab.error


def test_cost_estimate_uses_the_price_map():
    usage = {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000}
    cloud = ChatResult("x", "cloud", "openai/gpt-4o-mini", usage, 1.0, 1000.0)
    assert cost_text(cloud) == "cost ≈ $0.000750 (litellm list price)"
    assert "no list price" in cost_text(ChatResult("x", "cloud", "openai/nonexistent", usage, 1.0, 1.0))
    assert cost_text(ChatResult("x", "local-cpu", "smollm2-135m", usage, 1.0, 1.0)).startswith("cost $0")


def test_controls_are_labelled(shared_client):
    picker = BackendPicker()
    assert_controls_labelled(picker)
    assert_controls_labelled(PromptLab(compare=True))
    picker.close()


def test_building_widgets_imports_neither_litellm_nor_umap():
    code = ("import sys, portalit.widgets as w\n"
            "w.BackendPicker(); w.PromptLab(compare=True); w.CostCalculator(); w.AnalogyExplorer()\n"
            "import numpy as np; w.EmbeddingMap(vectors=np.eye(20)); w.AlignmentView(np.eye(5), np.eye(5))\n"
            "print(sorted(m for m in ('litellm', 'umap') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
