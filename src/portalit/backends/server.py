"""The `server` backend: any OpenAI-compatible endpoint, reached through litellm's openai provider."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from ..errors import PortalitError

DEFAULT_API_BASE = "http://127.0.0.1:8000/v1"


def api_base(value: str | None = None) -> str:
    base = (value or os.environ.get("PORTALIT_API_BASE") or DEFAULT_API_BASE).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise PortalitError(f"api_base {base!r} is not a URL; give one like {DEFAULT_API_BASE}")
    return base


def api_key(env_name: str | None = None) -> str:
    # Local servers ignore the key, but the openai client insists on one being set.
    return os.environ.get(env_name or "PORTALIT_API_KEY") or "not-needed"


def list_models(base: str | None = None, timeout: float = 2.0) -> list[str]:
    """Model ids the server offers; PortalitError naming the URL when it cannot be reached."""
    url = api_base(base) + "/models"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key()}"})
    try:
        with _opener().open(request, timeout=timeout) as response:
            body = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise PortalitError(
            f"server {api_base(base)} is unreachable ({reason}); start one with `portalit serve` "
            "or give the right --api-base"
        ) from None
    return [m.get("id", "?") for m in body.get("data", [])]


def _opener():
    # Ignore http_proxy: a proxy would send a loopback request off the machine.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def status(base: str | None = None) -> dict:
    try:
        found = list_models(base)
    except PortalitError as e:
        return {"ready": False, "detail": str(e)}
    return {"ready": True, "detail": f"{api_base(base)} serves {', '.join(found) or 'no models'}"}
