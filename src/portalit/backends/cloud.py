"""`cloud`: any litellm provider's model. Keys come from the environment or a .env file, never from
a notebook cell, and no key is ever printed: errors name the variable, not its value."""
from __future__ import annotations

import os

from .. import keys
from ..errors import PortalitError
from .base import Backend, Readiness, Target, request_timeout

DEFAULT_MODEL = "openai/gpt-4o-mini"
DEFAULT_EMBED = "openai/text-embedding-3-small"
# Suggestions for model boxes and price comparisons only: any litellm model id works.
SUGGESTED_MODELS = ["openai/gpt-4o-mini", "openai/gpt-4o", "openai/gpt-4.1-mini", "openai/gpt-5-mini",
                    "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash",
                    "mistral/mistral-small-latest", "deepseek/deepseek-chat"]


_chosen: str | None = None  # the cloud model last named in this process (the picker, or use("cloud", model=...))


def configured_model() -> str:
    """The cloud chat model to use when none is named: the one last chosen in this process (the
    picker's), else $PORTALIT_CLOUD_MODEL (environment or .env), else the first suggested model
    whose provider's key is set, else openai/gpt-4o-mini. So a learner with only an Anthropic or a
    Gemini key gets that provider, and no lesson cell names one."""
    if _chosen:
        return _chosen
    keys.load_dotenv()
    chosen = os.environ.get("PORTALIT_CLOUD_MODEL", "").strip()
    if chosen:
        if "/" not in chosen:
            raise PortalitError(f"PORTALIT_CLOUD_MODEL={chosen!r} must be a litellm id, provider/model, "
                                f"e.g. one of: {', '.join(SUGGESTED_MODELS[:3])}")
        return chosen
    return next((m for m in SUGGESTED_MODELS if os.environ.get(keys.key_variable(m), "")), DEFAULT_MODEL)


class Cloud(Backend):
    name = "cloud"
    summary = "any litellm provider; keys from the environment or a .env file"
    needs_key = True  # which variable depends on the provider: keys.key_variable(model)
    default_embed = DEFAULT_EMBED

    @property
    def default_model(self) -> str:
        return configured_model()

    def target(self, model=None, embed_model=None, **options) -> Target:
        global _chosen
        self.check_options(options)
        if model:
            _chosen = model
        model = model or self.default_model
        embed_model = embed_model or self.default_embed
        return Target(self.name, model, model, embed_model, embed_model, {"timeout": request_timeout()})

    def models(self, **options) -> list[str]:
        """The suggested ids, those whose key is configured first."""
        keys.load_dotenv()
        return sorted(SUGGESTED_MODELS, key=lambda m: not os.environ.get(keys.key_variable(m), ""))

    def suggested(self) -> list[str]:
        return list(SUGGESTED_MODELS)

    def status(self, model=None, embed=False, **options) -> Readiness:
        # Only the key check: a real call would cost money and need the internet.
        model = model or (self.default_embed if embed else self.default_model)
        var = keys.key_variable(model)
        keys.load_dotenv()
        if var and not os.environ.get(var):
            return Readiness(self.name, False, f"{model} needs {var} (environment or .env)")
        return Readiness(self.name, True, f"{model}: key found in {var or 'environment'} (not checked online)")

    def prepare(self, target, embed=False) -> None:
        model = target.embed_model if embed else target.model
        missing = keys.missing_keys(model)
        if missing:
            raise PortalitError(
                f"cloud model {model!r} needs {' and '.join(missing)}; set it in your environment or in a "
                ".env file beside the course (never in a notebook cell)"
            )
