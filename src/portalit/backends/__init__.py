"""The backend registry: what each backend calls through litellm, and how ready it is.

A Backend turns (model, options) into the arguments of litellm.completion / litellm.embedding.
Nothing here imports litellm or torch at module level: `import portalit` must stay fast.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from .. import models
from ..errors import PortalitError
from . import cloud, server


@dataclass(frozen=True)
class Target:
    """Everything litellm needs for one backend + model: the model id and extra call arguments."""

    backend: str
    model: str  # the name shown to people
    chat_id: str  # litellm model id for completion
    embed_model: str
    embed_id: str  # litellm model id for embedding
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Backend:
    name: str
    summary: str
    default_model: str
    default_embed: str

    def target(self, model: str | None = None, embed_model: str | None = None, **options) -> Target:
        model = model or self.default_model
        embed_model = embed_model or self.default_embed
        if self.name in ("local-cpu", "local-gpu"):
            _no_options(self.name, options)
            from .engines import resolve_chat_path

            resolve_chat_path(model)  # fails early, naming the valid models
            models.get(embed_model, "embed")
            prefix = "portalit" if self.name == "local-cpu" else "portalit_gpu"
            return Target(self.name, model, f"{prefix}/{model}", embed_model, f"{prefix}/{embed_model}")
        if self.name == "server":
            api_base = server.api_base(options.pop("api_base", None))
            kwargs = {"api_base": api_base, "api_key": server.api_key(options.pop("api_key_env", None))}
            _no_options(self.name, options)
            return Target(self.name, model, f"openai/{model}", embed_model, f"openai/{embed_model}", kwargs)
        _no_options(self.name, options, allowed=())
        return Target(self.name, model, model, embed_model, embed_model)

    def models(self, api_base: str | None = None) -> list[str]:
        """Chat models to offer for this backend; any other id (or local path) can still be used.

        local-cpu/local-gpu: the embedded models. server: what its /v1/models lists (the default
        model when it cannot be reached within a second). cloud: suggested litellm ids, those
        whose key is configured first.
        """
        if self.name in ("local-cpu", "local-gpu"):
            return models.names("chat")
        if self.name == "server":
            try:
                return server.list_models(api_base, timeout=1.0) or [self.default_model]
            except PortalitError:
                return [self.default_model]
        cloud.load_dotenv()
        return sorted(cloud.SUGGESTED_MODELS, key=lambda m: not os.environ.get(cloud.key_variable(m), ""))

    def status(self) -> dict:
        """{"ready": bool, "detail": str} without loading any model."""
        try:
            if self.name == "local-cpu":
                from . import llamacpp

                path = models.get(self.default_model).path()
                engine = "llama.cpp" if llamacpp.available() else "transformers (slower: llama_cpp missing)"
                return {"ready": True, "detail": f"{self.default_model} via {engine} ({path.name})"}
            if self.name == "local-gpu":
                return _cuda_status()
            if self.name == "server":
                return server.status()
            return cloud.status(self.default_model)
        except PortalitError as e:
            return {"ready": False, "detail": str(e)}


def _no_options(backend: str, options: dict, allowed=()) -> None:
    extra = sorted(set(options) - set(allowed))
    if extra:
        valid = {"server": "api_base, api_key_env"}.get(backend, "none")
        raise PortalitError(f"backend {backend!r} takes no option {', '.join(extra)}; valid options: {valid}")


def _cuda_status() -> dict:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return {"ready": False, "detail": "torch is not installed"}
    import torch

    if not torch.cuda.is_available():
        return {"ready": False, "detail": "no CUDA GPU visible to torch (this backend needs one)"}
    return {"ready": True, "detail": f"CUDA: {torch.cuda.get_device_name(0)}"}


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in [
        Backend("local-cpu", "embedded open-weight models on this CPU (llama.cpp), offline",
                models.DEFAULT_CHAT, models.DEFAULT_EMBED),
        Backend("local-gpu", "open-weight models on a CUDA GPU through transformers",
                models.DEFAULT_CHAT, models.DEFAULT_EMBED),
        Backend("server", "any OpenAI-compatible server you run (portalit serve, llama.cpp, vLLM, Ollama)",
                models.DEFAULT_CHAT, models.DEFAULT_EMBED),
        Backend("cloud", "any litellm provider; keys from the environment or a .env file",
                cloud.DEFAULT_MODEL, cloud.DEFAULT_EMBED),
    ]
}

DEFAULT = "local-cpu"


def get(name: str | None) -> Backend:
    name = name or os.environ.get("PORTALIT_BACKEND") or DEFAULT
    if name not in BACKENDS:
        raise PortalitError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    return BACKENDS[name]


def names() -> list[str]:
    return list(BACKENDS)
