"""`local-cpu`: the embedded open-weight models on this CPU (llama.cpp for chat), offline."""
from __future__ import annotations

from .. import engines, models
from ..engines import bridge
from ..errors import PortalitError
from .base import Backend, Readiness, Target


class LocalCPU(Backend):
    name = "local-cpu"
    summary = "embedded open-weight models on this CPU (llama.cpp), offline"
    owned = True
    in_process = True
    default_model = models.DEFAULT_CHAT
    default_embed = models.DEFAULT_EMBED
    device = "cpu"

    def target(self, model=None, embed_model=None, **options) -> Target:
        self.check_options(options)
        model = model or self.default_model
        embed_model = embed_model or self.default_embed
        engines.resolve_chat_path(model)  # fails now, naming the valid models
        models.get(embed_model, "embed")
        return Target(self.name, model, bridge.model_id(model, self.device), embed_model,
                      bridge.model_id(embed_model, self.device))

    def suggested(self) -> list[str]:
        return models.names("chat")

    def status(self, model=None, embed=False, **options) -> Readiness:
        try:
            if embed:
                name = model or self.default_embed
                path = models.get(name, "embed").path()
                engine = "transformers" if models.get(name).kind == "sentence" else "numpy"
            else:
                name = model or self.default_model
                path = engines.resolve_chat_path(name)
                engine = "transformers"
                if path.suffix == ".gguf":
                    engine = "llama.cpp" if engines.llamacpp.available() else "transformers (slower: llama_cpp missing)"
        except PortalitError as e:
            return Readiness(self.name, False, str(e))
        return Readiness(self.name, True, f"{name} via {engine} ({path.name})")

    def prepare(self, target, embed=False) -> None:
        if embed:
            engines.embed_engine(target.embed_model, self.device)
        else:
            engines.chat_engine(target.model, self.device)
