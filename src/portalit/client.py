"""The shared client: chat, stream and embed over litellm, whichever backend is selected.

`use()` selects the backend for every later call in the process (a kernelspec sets
PORTALIT_BACKEND instead; the BackendPicker widget calls use()). litellm is imported on the first
call, not at `import portalit`, because its import takes 4-5 s.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from . import backends
from .errors import PortalitError


@dataclass
class ChatResult:
    text: str
    backend: str
    model: str
    usage: dict
    latency_s: float
    tokens_per_s: float
    finish_reason: str = "stop"
    messages: list = field(default_factory=list, repr=False)
    first_token_s: float | None = None  # set by stream()

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in
                ("text", "backend", "model", "usage", "latency_s", "tokens_per_s", "finish_reason")}


_litellm = None
_litellm_lock = threading.Lock()


def litellm():
    """litellm, imported once, offline defaults applied and our local providers registered."""
    global _litellm
    with _litellm_lock:
        if _litellm is None:
            from . import offline

            offline.apply()
            import litellm as module

            module.suppress_debug_info = True
            module.drop_params = True  # a provider that lacks `seed` should not fail the call
            from .backends import provider

            provider.register()
            _litellm = module
        return _litellm


def warm_up_in_background() -> threading.Thread:
    """Starts importing litellm now so that the first chat in a notebook does not pay for it."""
    thread = threading.Thread(target=litellm, daemon=True, name="portalit-warm-up")
    thread.start()
    return thread


def build_messages(prompt=None, messages=None, system=None) -> list[dict]:
    if messages is None:
        if prompt is None or not str(prompt).strip():
            raise PortalitError("the prompt is empty; give a question or instruction as text")
        messages = [{"role": "user", "content": str(prompt)}]
    else:
        if prompt is not None:
            raise PortalitError("give either a prompt or messages, not both")
        messages = [dict(m) for m in messages]
        bad = [m for m in messages if m.get("role") not in ("system", "user", "assistant")]
        if not messages or bad:
            raise PortalitError(
                "messages must be a non-empty list of {role, content} with role system, user or assistant"
            )
        if not any(str(m.get("content") or "").strip() for m in messages if m["role"] == "user"):
            raise PortalitError("the prompt is empty; give at least one user message with text")
    if system:
        messages = [{"role": "system", "content": str(system)}] + [m for m in messages if m["role"] != "system"]
    return messages


class Client:
    """One backend + model. Calls raise PortalitError (one line, no key, no traceback) on user errors."""

    def __init__(self, backend: str | None = None, model: str | None = None,
                 embed_model: str | None = None, **options):
        spec = backends.get(backend)
        self.target = spec.target(model, embed_model, **options)
        self.last: ChatResult | None = None

    @property
    def backend(self) -> str:
        return self.target.backend

    @property
    def model(self) -> str:
        return self.target.model

    def __repr__(self) -> str:
        return f"Client(backend={self.backend!r}, model={self.model!r}, embed_model={self.target.embed_model!r})"

    def _params(self, temperature, max_tokens, seed, stop) -> dict:
        if not 0.0 <= float(temperature) <= 2.0:
            raise PortalitError(f"temperature {temperature!r} is out of range; choose a number from 0 to 2")
        if int(max_tokens) < 1:
            raise PortalitError(f"max_tokens {max_tokens!r} must be a positive whole number")
        params = {"temperature": float(temperature), "max_tokens": int(max_tokens), "seed": int(seed)}
        if stop:
            params["stop"] = stop
        return {**params, **self.target.kwargs}

    def _before_call(self, embed_model: str | None = None) -> None:
        # Checks that would otherwise surface wrapped in a litellm exception, and a one-off model
        # load kept out of the latency that the first call reports.
        if self.backend == "cloud":
            from .backends import cloud

            cloud.check(self.model)
        elif self.backend in ("local-cpu", "local-gpu"):
            from .backends import engines

            device = "cpu" if self.backend == "local-cpu" else "cuda"
            if embed_model:
                engines.embed_engine(embed_model, device)
            else:
                engines.chat_engine(self.model, device)

    def chat(self, prompt=None, *, messages=None, system=None, temperature=0.0, max_tokens=256,
             seed=0, stop=None) -> ChatResult:
        """Answer `prompt` (or a list of messages). temperature=0 on a local backend is deterministic."""
        messages = build_messages(prompt, messages, system)
        params = self._params(temperature, max_tokens, seed, stop)
        self._before_call()
        lm = litellm()
        start = time.perf_counter()
        with _translated_errors(self):
            response = lm.completion(model=self.target.chat_id, messages=messages, **params)
        latency = time.perf_counter() - start
        usage = _usage(response.usage)
        choice = response.choices[0]
        result = ChatResult(
            choice.message.content or "", self.backend, self.model, usage, round(latency, 4),
            round(usage["completion_tokens"] / latency, 2) if latency > 0 else 0.0,
            choice.finish_reason or "stop", messages,
        )
        self.last = result
        return result

    def stream(self, prompt=None, *, messages=None, system=None, temperature=0.0, max_tokens=256,
               seed=0, stop=None) -> Iterator[str]:
        """Yields the answer in pieces as they are generated; `self.last` holds the totals afterwards."""
        messages = build_messages(prompt, messages, system)
        params = self._params(temperature, max_tokens, seed, stop)
        self._before_call()
        lm = litellm()
        start = time.perf_counter()
        first = None
        pieces: list[str] = []
        usage = None
        finish = "stop"
        with _translated_errors(self):
            response = lm.completion(model=self.target.chat_id, messages=messages, stream=True,
                                     stream_options={"include_usage": True}, **params)
            for chunk in response:
                if getattr(chunk, "usage", None):
                    usage = _usage(chunk.usage)
                if not chunk.choices:
                    continue
                piece = chunk.choices[0].delta.content
                if chunk.choices[0].finish_reason:
                    finish = chunk.choices[0].finish_reason
                if piece:
                    if first is None:
                        first = time.perf_counter() - start
                    pieces.append(piece)
                    yield piece
        latency = time.perf_counter() - start
        usage = usage or {"prompt_tokens": 0, "completion_tokens": len(pieces), "total_tokens": len(pieces)}
        self.last = ChatResult("".join(pieces), self.backend, self.model, usage, round(latency, 4),
                               round(usage["completion_tokens"] / latency, 2) if latency > 0 else 0.0,
                               finish, messages, first)

    def embed(self, texts, model: str | None = None):
        """Vectors as a float32 numpy array (n, dim); minilm's rows have unit length."""
        import numpy as np

        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
            raise PortalitError("embed needs one or more non-empty texts")
        if model and model != self.target.embed_model:
            target = backends.get(self.backend).target(self.model, model, **_options(self.target))
        else:
            target = self.target
        self._before_call(target.embed_model)
        lm = litellm()
        with _translated_errors(self):
            response = lm.embedding(model=target.embed_id, input=texts, **target.kwargs)
        rows = sorted(response.data, key=lambda d: d["index"])
        return np.asarray([d["embedding"] for d in rows], dtype=np.float32)


def _options(target) -> dict:
    return {"api_base": target.kwargs["api_base"]} if "api_base" in target.kwargs else {}


def _usage(usage) -> dict:
    get = (lambda k: usage.get(k)) if isinstance(usage, dict) else (lambda k: getattr(usage, k, None))
    p, c = int(get("prompt_tokens") or 0), int(get("completion_tokens") or 0)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


class _translated_errors:
    """Turns litellm / connection failures into one PortalitError line, keys redacted."""

    def __init__(self, client: Client):
        self.client = client

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if error is None or isinstance(error, (PortalitError, GeneratorExit, KeyboardInterrupt)):
            return False
        cause = error.__cause__ or error.__context__
        if isinstance(cause, PortalitError):  # raised inside our provider, wrapped by litellm
            raise PortalitError(str(cause)) from None
        from .backends import cloud

        target = self.client.target
        where = target.kwargs.get("api_base")
        name = type(error).__name__
        text = cloud.redact(str(error).splitlines()[0] if str(error) else name)[:300]
        if where and ("Connection" in name or "connect" in text.lower()):
            raise PortalitError(
                f"server {where} is unreachable; start one with `portalit serve` or give the right api_base"
            ) from None
        if "Authentication" in name:
            raise PortalitError(f"{target.backend} model {target.model!r}: the provider refused the key "
                                f"({name}); check the key variable") from None
        if "NotFound" in name:
            raise PortalitError(f"{target.backend}: not found: {text}") from None
        raise PortalitError(f"{target.backend} model {target.model!r} failed: {name}: {text}") from None


_shared: Client | None = None
_shared_lock = threading.Lock()
_listeners: list = []


def use(backend: str | None = None, model: str | None = None, **options) -> Client:
    """Selects the backend (and model) for every later call through `client()`; returns the client."""
    global _shared
    new = Client(backend, model, **options)
    with _shared_lock:
        _shared = new
    for listener in list(_listeners):
        listener(new)
    return new


def client() -> Client:
    """The shared client: the last `use()`, else PORTALIT_BACKEND, else local-cpu."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Client()
        return _shared


def on_change(listener) -> None:
    """Calls listener(client) after every use(); widgets use it to stay in step."""
    _listeners.append(listener)


def remove_listener(listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)
