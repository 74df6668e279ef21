"""The session: the shared client that every lesson cell calls, and the events widgets follow.

`use()` selects the backend for every later call in the process (a kernelspec sets
PORTALIT_BACKEND instead; the BackendPicker widget calls use()). `subscribe("use" | "call", fn)`
is the one way to follow it: "use" passes the new shared Client, "call" every finished ChatResult.
litellm is imported on the first call, not at `import portalit` (see engines.bridge).
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from . import backends, keys
from .engines import bridge
from .errors import PortalitError

log = logging.getLogger("portalit")


@dataclass
class ChatResult:
    """One answer and its measurements. `str(result)` is the text.

    usage: {prompt_tokens, completion_tokens, total_tokens}; latency_s: the whole call;
    tokens_per_s: completion tokens / latency; first_token_s: time to the first piece (stream only).
    """

    text: str
    backend: str
    model: str
    usage: dict
    latency_s: float
    tokens_per_s: float
    finish_reason: str = "stop"
    messages: list = field(default_factory=list, repr=False)
    first_token_s: float | None = None

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in
                ("text", "backend", "model", "usage", "latency_s", "tokens_per_s", "finish_reason")}


def build_messages(prompt=None, messages=None, system=None) -> list[dict]:
    if isinstance(prompt, (list, tuple)) and messages is None:  # chat([...]): a list of messages, not text
        prompt, messages = None, prompt
    elif prompt is not None and not isinstance(prompt, str):
        raise PortalitError(f"the prompt must be text, or a list of {{role, content}} messages; got {type(prompt).__name__}")
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
        if backend is None and model is None:
            # a kernelspec may name the model as well as the backend (PORTALIT_MODEL)
            model = os.environ.get("PORTALIT_MODEL", "").strip() or None
        self.spec = backends.get(backend)
        self.options = dict(options)
        self.target = self.spec.target(model, embed_model, **options)
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

    def chat(self, prompt=None, *, messages=None, system=None, temperature=0.0, max_tokens=256,
             seed=0, stop=None) -> ChatResult:
        """Answer `prompt` (or a list of messages). temperature=0 on a local backend is deterministic."""
        messages = build_messages(prompt, messages, system)
        params = self._params(temperature, max_tokens, seed, stop)
        self.spec.prepare(self.target)
        lm = bridge.litellm()
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
        self._finished(result)
        return result

    def stream(self, prompt=None, *, messages=None, system=None, temperature=0.0, max_tokens=256,
               seed=0, stop=None) -> Iterator[str]:
        """Yields the answer in pieces as they are generated; `self.last` holds the totals afterwards."""
        messages = build_messages(prompt, messages, system)
        params = self._params(temperature, max_tokens, seed, stop)
        self.spec.prepare(self.target)
        lm = bridge.litellm()
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
        self._finished(ChatResult("".join(pieces), self.backend, self.model, usage, round(latency, 4),
                                  round(usage["completion_tokens"] / latency, 2) if latency > 0 else 0.0,
                                  finish, messages, first))

    def _finished(self, result: ChatResult) -> None:
        self.last = result
        events.emit("call", result)

    def embed(self, texts, model: str | None = None):
        """Vectors as a float32 numpy array (n, dim); minilm's rows have unit length."""
        import numpy as np

        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
            raise PortalitError("embed needs one or more non-empty texts")
        if model and model != self.target.embed_model:
            target = self.spec.target(self.model, model, **self.options)
        else:
            target = self.target
        self.spec.prepare(target, embed=True)
        lm = bridge.litellm()
        vectors = []
        # In batches: servers cap the inputs per request (OpenAI at 2,048), and a lesson's data set may be larger.
        for batch in _batches(texts):
            with _translated_errors(self):
                response = lm.embedding(model=target.embed_id, input=batch, **target.kwargs)
            rows = sorted(response.data, key=lambda d: d["index"])
            vectors += [d["embedding"] for d in rows]
        return np.asarray(vectors, dtype=np.float32)


EMBED_BATCH, EMBED_BATCH_CHARS = 512, 400_000


def _batches(texts: list[str]):
    """Consecutive runs of at most EMBED_BATCH texts and EMBED_BATCH_CHARS characters (one text
    longer than that still goes, alone: the server says whether it takes it)."""
    batch, size = [], 0
    for text in texts:
        if batch and (len(batch) == EMBED_BATCH or size + len(text) > EMBED_BATCH_CHARS):
            yield batch
            batch, size = [], 0
        batch.append(text)
        size += len(text)
    if batch:
        yield batch


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
        target = self.client.target
        where = target.kwargs.get("api_base")
        name = type(error).__name__
        text = keys.redact(str(error).splitlines()[0] if str(error) else name, str(target.kwargs.get("api_key") or ""))[:300]
        if where and ("Connection" in name or "connect" in text.lower()):
            raise PortalitError(
                f"server {where} is unreachable; start one with `portalit serve` or give the right api_base"
            ) from None
        if not where and ("Connection" in name or "connect" in text.lower()):
            raise PortalitError(f"{target.backend} model {target.model!r} is unreachable from this machine "
                                f"(no network, or the provider is down): {name}") from None
        if "Authentication" in name:
            raise PortalitError(f"{target.backend} model {target.model!r}: the provider refused the key "
                                f"({name}); check the key variable") from None
        if "RateLimit" in name:  # the server's own words (a gateway names the limit), without litellm's prefixes
            said = re.sub(r"^(litellm\.)?\w+Error: (\w+Error: )?(\w+Exception - )?", "", text)
            raise PortalitError(f"{target.backend}: over a limit: {said}") from None
        if "Timeout" in name:
            raise PortalitError(f"{target.backend} model {target.model!r} did not answer within "
                                f"{target.kwargs.get('timeout', '?')} s (PORTALIT_TIMEOUT sets the limit)") from None
        if "NotFound" in name:
            raise PortalitError(f"{target.backend}: not found: {text}") from None
        raise PortalitError(f"{target.backend} model {target.model!r} failed: {name}: {text}") from None


class Events:
    """Callbacks told when the shared client changes ("use": the new Client) or any client finishes a
    chat or stream ("call": its ChatResult). A bound method is held weakly, so a widget that is
    gone stops being called; a callback that fails is logged, never raised into the caller."""

    KINDS = ("use", "call")

    def __init__(self):
        self._callbacks: dict[str, list] = {kind: [] for kind in self.KINDS}
        self._lock = threading.Lock()

    def subscribe(self, kind: str, callback: Callable) -> Callable[[], None]:
        """Calls callback(value) on every `kind` event; returns a function that unsubscribes it."""
        if kind not in self._callbacks:
            raise PortalitError(f"unknown event {kind!r}; choose one of: {', '.join(self.KINDS)}")
        ref = weakref.WeakMethod(callback) if isinstance(callback, types.MethodType) else (lambda: callback)
        with self._lock:
            self._callbacks[kind].append(ref)

        def unsubscribe() -> None:
            with self._lock:
                if ref in self._callbacks[kind]:
                    self._callbacks[kind].remove(ref)

        return unsubscribe

    def emit(self, kind: str, value) -> None:
        with self._lock:
            refs = list(self._callbacks[kind])
        for ref in refs:
            callback = ref()
            if callback is None:
                with self._lock:
                    if ref in self._callbacks[kind]:
                        self._callbacks[kind].remove(ref)
                continue
            try:
                callback(value)
            except Exception:  # a widget's failure must never fail the user's call
                log.warning("a %r callback failed", kind, exc_info=True)


events = Events()
_shared: Client | None = None
_shared_lock = threading.Lock()


def use(backend: str | None = None, model: str | None = None, **options) -> Client:
    """Selects the backend (and model) for every later call through `client()`; returns the client."""
    global _shared
    new = Client(backend, model, **options)
    with _shared_lock:
        _shared = new
    events.emit("use", new)
    return new


def client() -> Client:
    """The shared client: the last `use()`, else PORTALIT_BACKEND (and PORTALIT_MODEL), else local-cpu."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Client()
        return _shared


def subscribe(kind: str, callback: Callable) -> Callable[[], None]:
    """`events.subscribe`: follow "use" (the shared client changed) or "call" (a chat finished)."""
    return events.subscribe(kind, callback)


def ready(backend: str | None = None, model: str | None = None, *, embed: bool = False,
          **options) -> backends.Readiness:
    """Whether `backend` can answer `model` now (True/False, and why in one line); loads nothing.

        if portalit.ready("cloud"): ...       # else print(portalit.ready("cloud")) says what is missing
    """
    return backends.get(backend).status(model, embed=embed, **options)
