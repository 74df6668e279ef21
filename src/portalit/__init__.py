"""PortaLit: one client over cloud, local and self-hosted models, and the geometry of meaning.

    import portalit
    portalit.use("local-cpu")                 # or "local-gpu", "server", "cloud"
    portalit.client().chat("Which city is the capital of France?")
    portalit.ready("cloud")                   # True/False, and why, without calling anyone

Importing is cheap: litellm, torch and the models load on first use. How the package fits
together is in the README ("How it fits together").
"""
from . import offline as _offline

_offline.apply()

from .errors import PortalitError  # noqa: E402
from .session import ChatResult, Client, client, ready, subscribe, use  # noqa: E402

__version__ = "0.1.0"


def chat(prompt=None, **kwargs) -> ChatResult:
    """Shortcut for client().chat(...)."""
    return client().chat(prompt, **kwargs)


def check(part=None, notebook=None) -> None:
    """In a problem set: run a part's visible tests (all parts if none) and print a hint for each
    failing one. See portalit.hints."""
    from .hints import check as run_check

    run_check(part, notebook)


def embed(texts, model=None):
    """Shortcut for client().embed(...)."""
    return client().embed(texts, model)


__all__ = ["ChatResult", "Client", "PortalitError", "chat", "check", "client", "embed", "ready", "subscribe", "use"]
