"""PortaLit: one client over cloud, local and self-hosted models, and the geometry of meaning.

    import portalit
    portalit.use("local-cpu")                 # or "local-gpu", "server", "cloud"
    portalit.client().chat("Which city is the capital of France?")

Importing is cheap: litellm, torch and the models load on first use. (`portalit.client` is the
function; the module of the same name is `sys.modules["portalit.client"]`.)
"""
from . import offline as _offline

_offline.apply()

from .client import ChatResult, Client, client, on_change, use  # noqa: E402
from .errors import PortalitError  # noqa: E402

__version__ = "0.1.0"


def chat(prompt=None, **kwargs) -> ChatResult:
    """Shortcut for client().chat(...)."""
    return client().chat(prompt, **kwargs)


def embed(texts, model=None):
    """Shortcut for client().embed(...)."""
    return client().embed(texts, model)


__all__ = ["ChatResult", "Client", "PortalitError", "chat", "client", "embed", "on_change", "use"]
