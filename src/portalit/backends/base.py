"""What a backend is: a class whose attributes say what it needs and offers, and whose methods say
how a model is reached through litellm and how it becomes ready. The session never names one."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import PortalitError


@dataclass(frozen=True)
class Target:
    """Everything litellm needs for one backend + model: the model ids and extra call arguments.

    `kwargs` may hold a key (api_key), so it is left out of the repr.
    """

    backend: str
    model: str  # the name shown to people
    chat_id: str  # litellm model id for completion
    embed_model: str
    embed_id: str  # litellm model id for embedding
    kwargs: dict = field(default_factory=dict, repr=False)


DEFAULT_TIMEOUT_S = 120.0


def request_timeout() -> float:
    """Seconds an HTTP backend waits for an answer: $PORTALIT_TIMEOUT, else 120. A server that
    never answers then costs a learner a clear error, not a cell that hangs for good."""
    import os

    value = os.environ.get("PORTALIT_TIMEOUT", "").strip()
    if not value:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 86400:
        raise PortalitError(f"PORTALIT_TIMEOUT={value!r} must be a number of seconds above 0, e.g. 120")
    return seconds


@dataclass(frozen=True)
class Readiness:
    """Whether a backend can answer now, and why or why not, in one line. True when ready.

        status = portalit.ready("cloud")
        if status: ...
        else: print(status)   # cloud: not ready: openai/gpt-4o-mini needs OPENAI_API_KEY ...
    """

    backend: str
    ready: bool
    detail: str

    def __bool__(self) -> bool:
        return self.ready

    def __str__(self) -> str:
        return f"{self.backend}: {'ready' if self.ready else 'not ready'}: {self.detail}"

    def to_dict(self) -> dict:
        return {"ready": self.ready, "detail": self.detail}


class Backend:
    """One way of reaching models. A subclass sets the class attributes and implements `target`.

    Capabilities, as class attributes:
      name, summary      how people pick it and what it is
      owned              the machine is yours: a call has no list price (its cost is the hardware)
      in_process         it runs the embedded catalogue models inside this Python process
      needs_key          calls need a provider key (from the environment or a .env file)
      key_variable       the variable that holds the key (None: none, or it depends on the model)
      options            {option name: what it is}: the keyword options `target` accepts
      default_model, default_embed
    How it becomes ready: `status()` checks without loading anything; `prepare(target)` runs
    before each call (loads the weights once, checks the key), so its failures are one clear line
    rather than a litellm exception, and a first call's latency is the model's, not the load's.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    owned: ClassVar[bool] = False
    in_process: ClassVar[bool] = False
    needs_key: ClassVar[bool] = False
    key_variable: ClassVar[str | None] = None
    options: ClassVar[dict[str, str]] = {}
    default_model: ClassVar[str]
    default_embed: ClassVar[str]

    def target(self, model: str | None = None, embed_model: str | None = None, **options) -> Target:
        raise NotImplementedError

    def models(self, **options) -> list[str]:
        """Chat models to offer (any other id the backend understands can still be used)."""
        return self.suggested()

    def suggested(self) -> list[str]:
        """Models to list without asking anyone (no network, no model load)."""
        return [self.default_model]

    def status(self, model: str | None = None, embed: bool = False, **options) -> Readiness:
        """Ready or not for `model` (default: the default chat model, or embedding model with embed=True)."""
        return Readiness(self.name, True, "no check needed")

    def prepare(self, target: Target, embed: bool = False) -> None:
        """Called before each chat (embed=False) or embedding call; raises PortalitError if not ready."""

    def check_options(self, options: dict) -> None:
        """PortalitError naming the options this backend does not take, and the ones it does."""
        extra = sorted(set(options) - set(self.options))
        if extra:
            valid = ", ".join(self.options) or "none"
            raise PortalitError(f"backend {self.name!r} takes no option {', '.join(extra)}; valid options: {valid}")

    def __repr__(self) -> str:
        return f"<backend {self.name}: {self.summary}>"
