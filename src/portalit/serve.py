"""`portalit serve`: the embedded models behind an OpenAI-compatible HTTP API on 127.0.0.1.

The owned infrastructure of lesson 08, and the real endpoint the `server` backend is tested
against. It answers one chat at a time (a llama.cpp context is not thread-safe, so requests
queue on the model's lock): the single queue lesson 08 measures beside the class gateway, which
batches. The HTTP side is the gateway's (aiohttp): the same request checks and OpenAI errors, a
body cap, a body timeout, chunked bodies, a deep backlog; a client that hangs up stops its
generation, streamed or not, so the next request does not wait for an answer nobody reads.

Prefill: a request with `continue_final_message: true` and `add_generation_prompt: false` (vLLM's
fields, which llama.cpp's llama-server takes too) continues its last message, the assistant's,
instead of answering it; the reply holds the continuation only, as vLLM's does. Without the flag
a trailing assistant message is a finished turn and is answered, as OpenAI's API does (llama-server
continues it by default unless started with --no-prefill-assistant; the gateway starts it so). The
chat model's /v1/models entry says `"continue_final_message": true`, which is how portalit.prefill
tells this server from one that would answer the prefix instead.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from . import engines, models
from .errors import PortalitError

EMBED_MODELS = ("minilm", "glove-50d")
CONTEXT = 2048  # the chat engine's context (engines.llamacpp)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Service:
    """One chat model plus the embedding models, loaded lazily; generation off the event loop."""

    def __init__(self, model: str = models.DEFAULT_CHAT, key: str | None = None):
        self.model, self.key = model, key
        engines.resolve_chat_path(model)  # fails now, naming the choices, rather than per request
        self.created = int(time.time())
        self.pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="portalit-serve")  # they queue on the lock
        self.embed_lock = None

    def model_ids(self) -> list[str]:
        return [self.model, *EMBED_MODELS]

    def app(self):
        from .gateway.app import errors

        app = web.Application(client_max_size=1_000_000, middlewares=[errors, self.auth])
        for prefix in ("/v1", ""):
            app.router.add_get(prefix + "/models", self.models)
            app.router.add_post(prefix + "/chat/completions", self.chat)
            app.router.add_post(prefix + "/embeddings", self.embeddings)
        app.router.add_get("/health", self.health)
        app.router.add_get("/", self.health)
        return app

    @web.middleware
    async def auth(self, request, handler):
        from .gateway import keys

        if self.key and request.path not in ("/health", "/"):
            given = keys.bearer(request.headers.get("Authorization")) or ""
            if not keys.same(keys.digest(given), keys.digest(self.key)):
                from .gateway.app import error

                return error(401, "a valid API key is required (Authorization: Bearer KEY)",
                             "authentication_error", "invalid_api_key")
        return await handler(request)

    async def health(self, request):
        return web.json_response({"status": "ok", "model": self.model})

    async def models(self, request):
        return web.json_response({"object": "list", "data": [
            {"id": m, "object": "model", "created": self.created, "owned_by": "portalit",
             **({"continue_final_message": True} if m == self.model else {})} for m in self.model_ids()]})

    async def chat(self, request):
        from .gateway import validate
        from .gateway.app import read_json

        body = await read_json(request)
        wanted = validate.chat(body, [self.model], CONTEXT)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        params = {k: wanted[k] for k in ("temperature", "max_tokens", "seed", "stop") if k in wanted}
        params.setdefault("temperature", 1.0)
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()), "model": self.model}
        cancel = threading.Event()
        pieces = _Pieces(asyncio.get_running_loop())
        self.pool.submit(self._generate, wanted["messages"], params, cancel, pieces,
                         bool(wanted.get("continue_final_message")))
        try:
            first = await pieces.get()  # an error before any token (a prompt over the context) is a 4xx
            if isinstance(first, Exception):
                raise _as_api_error(first)
            if not wanted["stream"]:
                text, done = [], first
                while not isinstance(done, dict):
                    text.append(done)
                    done = await pieces.get()
                    if isinstance(done, Exception):
                        raise _as_api_error(done)
                return web.json_response({**base, "object": "chat.completion", "choices": [{
                    "index": 0, "message": {"role": "assistant", "content": "".join(text)},
                    "finish_reason": done["finish_reason"]}], "usage": _usage(done)})
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
            await response.prepare(request)
            chunk = {**base, "object": "chat.completion.chunk"}
            await _event(response, {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                          "finish_reason": None}]})
            item = first
            while not isinstance(item, dict):
                if isinstance(item, Exception):  # mid-answer: one error event, never a second response
                    await _event(response, {"error": {"message": f"generation failed ({type(item).__name__})",
                                                      "type": "server_error", "code": "generation_failed", "param": None}})
                    return response
                await _event(response, {**chunk, "choices": [{"index": 0, "delta": {"content": item}, "finish_reason": None}]})
                item = await pieces.get()
            await _event(response, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": item["finish_reason"]}]})
            if include_usage:
                await _event(response, {**chunk, "choices": [], "usage": _usage(item)})
            await response.write(b"data: [DONE]\n\n")
            return response
        finally:
            cancel.set()  # done, failed or the client hung up: the engine stops at its next token

    def _generate(self, messages, params, cancel: threading.Event, pieces: "_Pieces", continues=False) -> None:
        """In a pool thread: stream from the engine (waiting for its lock: the queue), handing each
        piece to the event loop; stop as soon as the request is cancelled. `continues`: the last
        message is the assistant's, to be continued (portalit.prefill renders it)."""
        from . import prefill

        try:
            engine = engines.chat_engine(self.model)
            done: dict = {}
            if continues:
                stream = prefill.continuation(engine, self.model, messages[:-1], messages[-1]["content"], done=done,
                                              **params)
            else:
                stream = engine.stream(messages, **params)
            try:
                for piece in stream:
                    if cancel.is_set():
                        return
                    pieces.put(piece)
            finally:
                stream.close()
            if not continues:
                last = engine.last_stream
                done = {"finish_reason": last.finish_reason, "prompt_tokens": last.prompt_tokens,
                        "completion_tokens": last.completion_tokens}
            pieces.put(done)
        except Exception as e:  # handed to the request, which answers with it
            pieces.put(e)

    async def embeddings(self, request):
        from .gateway import validate
        from .gateway.app import embed_reply, read_json

        model, texts, encoding = validate.embeddings(await read_json(request), list(EMBED_MODELS))
        if self.embed_lock is None:
            self.embed_lock = asyncio.Lock()
        engine = await asyncio.get_running_loop().run_in_executor(self.pool, engines.embed_engine, model)
        response, _ = await embed_reply(engine, model, texts, encoding, self.embed_lock)
        return response


class _Pieces:
    """A queue from a generating thread to the event loop."""

    def __init__(self, loop):
        self.loop, self.queue = loop, asyncio.Queue()

    def put(self, item) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: the server is stopping
            pass

    async def get(self):
        return await self.queue.get()


async def _event(response, payload: dict) -> None:
    await response.write(b"data: " + json.dumps(payload).encode() + b"\n\n")


def _as_api_error(e: Exception):
    from .gateway.validate import BadRequest

    text = str(e)
    if "exceed context window" in text or "context length" in text.lower():
        return BadRequest(f"the prompt and max_tokens exceed the model's context of {CONTEXT} tokens ({text})",
                          "messages", "context_length_exceeded")
    if isinstance(e, PortalitError):
        return BadRequest(text)
    return e


def _usage(done: dict) -> dict:
    p, c = done["prompt_tokens"], done["completion_tokens"]
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _key(key_env: str | None) -> str | None:
    if not key_env:
        return None
    key = os.environ.get(key_env, "")
    if len(key) < 16:
        raise PortalitError(f"--key-env {key_env}: that variable must hold a key of at least 16 characters")
    return key


class Running:
    """A server started in a thread of this process: `url`; `shutdown()` stops it."""

    def __init__(self, loop, runner, thread, url):
        self.loop, self.runner, self.thread, self.url = loop, runner, thread, url

    def shutdown(self) -> None:
        if not self.thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)

    stop = shutdown


async def _listen(service: Service, host: str, port: int):
    runner = web.AppRunner(service.app(), handler_cancellation=True, access_log_format='%a "%r" %s %b %Tf')
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    try:
        await site.start()
    except OSError as e:
        await runner.cleanup()
        raise PortalitError(f"cannot listen on {host}:{port} ({e.strerror}); choose another --port") from None
    return runner, site._server.sockets[0].getsockname()[1]


def start_in_thread(host="127.0.0.1", port=0, model=models.DEFAULT_CHAT, quiet=True):
    """Starts a server in this process (for notebooks and tests); returns (server, base_url)."""
    service = Service(model)
    loop = asyncio.new_event_loop()  # its own loop, in its own thread: a notebook's kernel runs one already
    started: dict = {}
    ready = threading.Event()

    def serve_forever():
        asyncio.set_event_loop(loop)
        try:
            started["listening"] = loop.run_until_complete(_listen(service, host, port))
        except Exception as e:  # handed to the caller
            started["error"] = e
            return
        finally:
            ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve_forever, daemon=True, name="portalit-serve")
    thread.start()
    ready.wait(timeout=60)
    if "error" in started:
        raise started["error"]
    runner, bound = started["listening"]
    running = Running(loop, runner, thread, f"http://{host}:{bound}/v1")
    return running, running.url


def run(host: str = "127.0.0.1", port: int = 8000, model: str = models.DEFAULT_CHAT, key_env: str | None = None) -> None:
    import logging

    from .gateway import _no_request_content
    from .processes import stop_signal

    key = _key(key_env)
    service = Service(model, key)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("aiohttp.server").addFilter(_no_request_content)
    if host not in LOOPBACK:
        print(f"note: serving on {host}: other machines can reach this server, over plain HTTP"
              + ("" if key else "; anyone who can reach it can use it: set --key-env VAR (a variable holding a key)"),
              flush=True)

    async def main():
        runner, bound = await _listen(service, host, port)
        await asyncio.get_running_loop().run_in_executor(None, engines.chat_engine, model)  # load before announcing
        print(f"portalit serve: {model} (+ {', '.join(EMBED_MODELS)}) on http://{host}:{bound}/v1  (Ctrl-C stops)",
              flush=True)
        try:
            await stop_signal()
        finally:
            await runner.cleanup()

    asyncio.run(main())
