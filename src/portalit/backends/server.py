"""`server`: any OpenAI-compatible endpoint (portalit serve, llama.cpp, vLLM, Ollama, LiteLLM proxy),
reached through litellm's openai provider."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from .. import models
from ..errors import PortalitError
from .base import Backend, Readiness, Target, request_timeout

DEFAULT_API_BASE = "http://127.0.0.1:8000/v1"


def base_url(value: str | None = None) -> str:
    """`value`, else $PORTALIT_API_BASE, else the default; PortalitError if it is not a URL."""
    base = (value or os.environ.get("PORTALIT_API_BASE") or DEFAULT_API_BASE).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise PortalitError(f"api_base {base!r} is not a URL; give one like {DEFAULT_API_BASE}")
    return base


def api_key(env_name: str | None = None) -> str:
    # Local servers ignore the key, but the openai client insists on one being set.
    return os.environ.get(env_name or Server.key_variable) or "not-needed"


def list_models(base: str | None = None, timeout: float = 2.0) -> list[str]:
    """Model ids the server offers; PortalitError naming the URL when it cannot be reached."""
    url = base_url(base) + "/models"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key()}"})
    try:
        with _opener().open(request, timeout=timeout) as response:
            body = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise PortalitError(
            f"server {base_url(base)} is unreachable ({reason}); start one with `portalit serve` "
            "or give the right --api-base"
        ) from None
    return [m.get("id", "?") for m in body.get("data", [])]


def _opener():
    # Ignore http_proxy: a proxy would send a loopback request off the machine.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Server(Backend):
    name = "server"
    summary = "any OpenAI-compatible server you run (portalit serve, llama.cpp, vLLM, Ollama)"
    owned = True
    key_variable = "PORTALIT_API_KEY"  # optional: a class gateway hands each learner one
    options = {"api_base": "the server's URL, e.g. " + DEFAULT_API_BASE,
               "api_key_env": "the variable that holds the key (default PORTALIT_API_KEY)",
               # read by portalit.prefill, not sent: portalit serve and gateway say so in /v1/models themselves
               "continue_final_message": "True: the server continues a final assistant message when asked as vLLM "
                                         "is (portalit.prefill)"}
    default_model = models.DEFAULT_CHAT
    default_embed = models.DEFAULT_EMBED

    def target(self, model=None, embed_model=None, **options) -> Target:
        self.check_options(options)
        model = model or self.default_model
        embed_model = embed_model or self.default_embed
        # No retries: a 429 from a class gateway names the limit at once, instead of waiting out
        # Retry-After twice; and a timeout, so a server that never answers is an error, not a hang.
        kwargs = {"api_base": base_url(options.get("api_base")), "api_key": api_key(options.get("api_key_env")),
                  "timeout": request_timeout(), "max_retries": 0}
        return Target(self.name, model, f"openai/{model}", embed_model, f"openai/{embed_model}", kwargs)

    def models(self, api_base: str | None = None, **options) -> list[str]:
        """What the server's /v1/models lists; the default model when it does not answer within a second."""
        try:
            return list_models(api_base, timeout=1.0) or [self.default_model]
        except PortalitError:
            return [self.default_model]

    def status(self, model=None, embed=False, api_base: str | None = None, **options) -> Readiness:
        try:
            found = list_models(api_base)
        except PortalitError as e:
            return Readiness(self.name, False, str(e))
        return Readiness(self.name, True, f"{base_url(api_base)} serves {', '.join(found) or 'no models'}")
