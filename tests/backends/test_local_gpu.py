"""local-gpu on a real CUDA GPU: both model families answer through the shared client, and the same
prompt patterns run there. Skipped, with the reason, on a machine without one (CI, most laptops).

PORTALIT_GPU_MODEL may name a larger open model folder on that machine (transformers format); it is
measured beside the embedded ones."""
import os

import pytest

import portalit


def _cuda() -> str:
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    return "" if torch.cuda.is_available() else "no CUDA GPU visible to torch here"


pytestmark = pytest.mark.skipif(bool(_cuda()), reason=_cuda() or "CUDA GPU present")

MODELS = ["smollm2-135m", "gemma3-270m"] + ([os.environ["PORTALIT_GPU_MODEL"]] if os.environ.get("PORTALIT_GPU_MODEL") else [])


@pytest.mark.parametrize("model", MODELS)
def test_each_family_answers_on_the_gpu(model):
    client = portalit.Client("local-gpu", model=model)
    first = client.chat("The capital of France is", max_tokens=8)
    again = client.chat("The capital of France is", max_tokens=8)
    assert first.backend == "local-gpu" and first.usage["completion_tokens"] > 0
    assert first.text == again.text  # greedy decoding on the GPU is repeatable too
    pieces = list(client.stream("Name a colour.", max_tokens=8))
    assert "".join(pieces).strip()


def test_prompt_patterns_run_on_the_gpu():
    from portalit import patterns, suite, transfer

    client = portalit.Client("local-gpu", model="smollm2-135m")
    pattern = patterns.get("decomposition")
    base = suite.run_task(transfer._with_cases(pattern.baseline, list(pattern.cases[:5])), client)
    assert base.backend == "local-gpu" and len(base.passed) == 5
