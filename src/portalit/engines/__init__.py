"""The local engines: llama.cpp and transformers chat, minilm and GloVe embeddings, and the litellm bridge.

An engine is loaded once per (model, device) and shared by everything in the process: the litellm
bridge (how local calls reach an engine), `portalit serve` and the grader.
"""
from __future__ import annotations

import atexit
import threading
import warnings
from pathlib import Path

from .. import models
from ..errors import PortalitError
from . import llamacpp

_cache: dict[tuple, object] = {}
_lock = threading.Lock()

FALLBACK_NOTE = (
    "llama_cpp is not installed, so local-cpu runs smollm2-135m through transformers "
    "(about 4x slower); `make setup` builds llama-cpp-python"
)


def resolve_chat_path(model: str) -> Path:
    """A catalogue chat model's GGUF file, or a user's own model file or folder."""
    if model in models.CATALOGUE:
        return models.get(model, "chat").path()
    path = Path(model).expanduser()
    if path.exists():
        return path
    raise PortalitError(
        f"unknown chat model {model!r}; choose one of: {', '.join(models.names('chat'))}, "
        "or give the path of a local model folder or .gguf file"
    )


def template(model: str) -> tuple[str, str] | None:
    """(chat template, turn stop) for a catalogue model whose file carries no template, else None."""
    entry = models.CATALOGUE.get(model)
    return (entry.chat_template, entry.stop) if entry is not None and entry.chat_template else None


def check_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise PortalitError(
            "backend 'local-gpu' needs a CUDA GPU, and torch sees none here; "
            "choose one of: local-cpu, server, cloud"
        )


def chat_engine(model: str, device: str = "cpu"):
    """The loaded engine for `model` on "cpu" or "cuda": llama.cpp on CPU when it is installed."""
    path = resolve_chat_path(model)
    if device == "cuda":
        check_cuda()
    use_llama = device == "cpu" and path.suffix == ".gguf" and llamacpp.available()
    lora = models.lora_path(model) if model in models.CATALOGUE else None
    key = ("chat", str(path), device, str(lora or ""))
    with _lock:
        if key not in _cache:
            if use_llama:
                _cache[key] = llamacpp.LlamaCppChat(str(path), template=template(model), lora=lora)
            else:
                if device == "cpu" and path.suffix == ".gguf":
                    warnings.warn(FALLBACK_NOTE, RuntimeWarning, stacklevel=3)
                from .transformers_chat import TransformersChat

                # transformers takes the adapter in peft's format, saved beside the GGUF one.
                adapter = lora.parent / "peft" if lora else None
                _cache[key] = TransformersChat(path, device=device, template=template(model), adapter=adapter)
        return _cache[key]


def embed_engine(model: str, device: str = "cpu"):
    models.get(model, "embed")  # names the valid choices when `model` is unknown
    if device == "cuda":
        check_cuda()
    key = ("embed", model, device)
    with _lock:
        if key not in _cache:
            from .embedders import GloveTextEmbedder, MiniLMEmbedder

            _cache[key] = MiniLMEmbedder(device) if model == "minilm" else GloveTextEmbedder()
        return _cache[key]


@atexit.register
def close_all() -> None:
    """Frees llama.cpp models before interpreter teardown, when their __del__ would fail noisily."""
    with _lock:
        for engine in _cache.values():
            llm = getattr(engine, "llm", None)
            if llm is not None:
                llm.close()
        _cache.clear()
        for vocabulary in llamacpp.vocabularies.values():
            vocabulary.close()
        llamacpp.vocabularies.clear()
