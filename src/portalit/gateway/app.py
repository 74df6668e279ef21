"""The gateway's HTTP side (aiohttp, already in the course's lock): OpenAI's routes, a key per
learner, limits per learner, usage counted per learner.

aiohttp does the HTTP work a hand-written server got wrong: chunked bodies, a body size cap,
a deep listen backlog, and cancelling a handler whose client hung up (so an abandoned request
frees its llama-server slot). Here: every error is OpenAI's JSON error shape with a 4xx where the
request is at fault; an error after a stream has started is one `error` event, never a second
HTTP response; keys never reach a log line, an error or a repr.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time

from aiohttp import ClientSession, ClientTimeout, web

from .. import engines
from . import keys, validate
from .limits import Refused

log = logging.getLogger("portalit.gateway")
MAX_BODY = 1_000_000
# A body that has not arrived in full by then is abandoned (a slow sender, or a Content-Length
# larger than what is sent): it would otherwise hold a connection open for good.
BODY_SECONDS = float(os.environ.get("PORTALIT_GATEWAY_BODY_SECONDS", 15))

LEARNER = web.AppKey("learner", str)
RELOAD_S = 2.0
CLOUD_MAX_TOKENS = 16_384  # the most a learner may ask of the cloud model in one answer


def error(status: int, message: str, kind: str, code: str | None = None, param: str | None = None,
          headers: dict | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "param": param, "code": code}},
                             status=status, headers=headers)


class Gateway:
    def __init__(self, store, limiter, chat_urls: dict, context: int, embedders: dict, cloud: dict | None = None):
        self.store, self.limiter = store, limiter
        self.chat_urls, self.context = chat_urls, context  # {local chat model: its llama-server's URL}
        # An optional cloud model behind the instructor's key: {"model": litellm id, "api_base": ...}.
        # The key stays in this process's environment; learners only ever hold their gateway key.
        self.cloud = cloud
        self.embedders = embedders  # name -> engine with .embed(texts) and .count_tokens(texts)
        self.by_hash, self.reloaded = store.learners(), time.monotonic()
        self.created = int(time.time())
        self.session: ClientSession | None = None
        self.embed_lock = asyncio.Lock()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[errors, self.auth])
        app.router.add_get("/health", self.health)
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, app):
        self.session = ClientSession(timeout=ClientTimeout(total=None, sock_connect=5, sock_read=600))

    async def _close(self, app):
        await self.session.close()

    # -- middlewares ---------------------------------------------------------------------------------
    @web.middleware
    async def auth(self, request, handler):
        if request.path == "/health":
            return await handler(request)
        key = keys.bearer(request.headers.get("Authorization"))
        learner = self.by_hash.get(keys.digest(key)) if key else None
        if learner is None and key and time.monotonic() - self.reloaded > RELOAD_S:
            # Learners added while it runs (`gateway init` again) are let in without a restart;
            # unknown keys trigger at most one reread every RELOAD_S.
            self.reloaded, self.by_hash = time.monotonic(), self.store.learners()
            self.limiter.reload()
            learner = self.by_hash.get(keys.digest(key))
        if learner is None:
            return error(401, "a valid API key is required (Authorization: Bearer KEY); your instructor "
                         "hands out one key per learner", "authentication_error", "invalid_api_key")
        request[LEARNER] = learner
        return await handler(request)

    # -- routes --------------------------------------------------------------------------------------
    async def health(self, request):
        return web.json_response({"status": "ok"})

    async def models(self, request):
        names = [*self.chat_urls, *self.embedders] + ([self.cloud["model"]] if self.cloud else [])
        return web.json_response({"object": "list", "data": [
            {"id": m, "object": "model", "created": self.created, "owned_by": "portalit",
             **({"continue_final_message": True} if m in self.chat_urls else {})} for m in names]})

    def _admit(self, learner: str):
        try:
            self.limiter.admit(learner)
        except Refused as e:
            self.store.record(learner, refused=True)
            log.info("%s refused: %s", learner, e.code)
            return error(429, e.message, "rate_limit_error", e.code, headers={"Retry-After": str(e.retry_after)})
        return None

    async def chat(self, request):
        learner = request[LEARNER]
        body = await read_json(request)
        served = {**{m: self.context for m in self.chat_urls}, **({self.cloud["model"]: CLOUD_MAX_TOKENS} if self.cloud else {})}
        wanted = validate.chat(body, list(served), served)
        if wanted.get("continue_final_message") and wanted["model"] not in self.chat_urls:
            raise validate.BadRequest(f"continue_final_message is supported for the models run here "
                                      f"({', '.join(self.chat_urls)}), not for the cloud model {wanted['model']!r}",
                                      "continue_final_message")
        turn_stop = (engines.template(wanted["model"]) or (None, None))[1]
        if turn_stop and wanted["model"] in self.chat_urls:  # a base model's turn ends where it writes "User:"
            asked = wanted.get("stop") or []
            wanted["stop"] = [*([asked] if isinstance(asked, str) else asked), turn_stop]
        refused = self._admit(learner)
        if refused:
            return refused
        started, usage = time.perf_counter(), {}
        try:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            if self.cloud and wanted["model"] == self.cloud["model"]:
                return await self._cloud(request, wanted, include_usage, usage)
            if wanted["stream"]:
                return await self._stream(request, wanted, include_usage, usage)
            return await self._complete(wanted, usage)
        finally:  # also when the client hung up (the handler is cancelled): what ran is counted
            prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
            if usage:
                self.store.record(learner, prompt, completion)
            self.limiter.done(learner, prompt + completion)
            log.info("%s chat %d tokens %.2f s", learner, prompt + completion, time.perf_counter() - started)

    async def _complete(self, wanted: dict, usage: dict):
        async with self.session.post(self.chat_urls[wanted["model"]], json=wanted) as upstream:
            payload = await upstream.json(content_type=None)
            if upstream.status != 200:
                return self._upstream_error(upstream.status, payload)
        usage.update(payload.get("usage") or {})
        if wanted.get("continue_final_message"):
            # llama-server's whole reply repeats the message it continued (its "prefill"; its stream
            # does not): answer as `portalit serve` and vLLM do, with the continuation only.
            prefix = wanted["messages"][-1]["content"]
            for choice in payload.get("choices") or []:
                message = choice.get("message") or {}
                if (message.get("content") or "").startswith(prefix):
                    message["content"] = message["content"][len(prefix):]
        return web.json_response(payload)

    async def _stream(self, request, wanted: dict, include_usage: bool, usage: dict):
        """Relays llama-server's events; `usage` is filled as soon as the engine reports it, so
        a learner who hangs up mid-answer is still charged for what ran."""
        wanted = {**wanted, "stream_options": {"include_usage": True}}  # counted either way
        async with self.session.post(self.chat_urls[wanted["model"]], json=wanted) as upstream:
            if upstream.status != 200:
                return self._upstream_error(upstream.status, await upstream.json(content_type=None))
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
            await response.prepare(request)
            try:
                async for line in upstream.content:
                    text = line.strip()
                    if not text.startswith(b"data:"):
                        continue
                    data = text[5:].strip()
                    if data != b"[DONE]":
                        chunk = json.loads(data)
                        if "error" in chunk:
                            await response.write(b"data: " + json.dumps(_openai_error(chunk)).encode() + b"\n\n")
                            break
                        chunk = _counted(chunk, usage, include_usage)
                        if chunk is None:
                            continue
                        data = json.dumps(chunk).encode()
                    await response.write(b"data: " + data + b"\n\n")
            except (ValueError, OSError) as e:  # the model server failed mid-answer: one error event
                await response.write(b"data: " + json.dumps({"error": {
                    "message": f"the model server failed mid-answer ({type(e).__name__})", "type": "server_error",
                    "code": "upstream_error", "param": None}}).encode() + b"\n\n")
            await response.write_eof()
            return response

    async def _cloud(self, request, wanted: dict, include_usage: bool, usage: dict):
        """The cloud model through litellm, with the instructor's key from this process's environment."""
        from ..engines import bridge

        litellm = bridge.litellm()
        options = {k: v for k, v in wanted.items() if k not in ("model", "messages", "stream")}
        if self.cloud.get("api_base"):
            options["api_base"] = self.cloud["api_base"]
        try:
            if not wanted["stream"]:
                reply = await litellm.acompletion(model=self.cloud["model"], messages=wanted["messages"],
                                                  num_retries=0, **options)
                payload = reply.model_dump(exclude_none=True)
                payload["model"] = self.cloud["model"]
                usage.update(payload.get("usage") or {}, final=True)
                return web.json_response(payload)
            chunks = await litellm.acompletion(model=self.cloud["model"], messages=wanted["messages"], stream=True,
                                               stream_options={"include_usage": True}, num_retries=0, **options)
        except Exception as e:  # the provider's failure, in one line without keys
            return self._cloud_error(e)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        try:
            async for chunk in chunks:
                data = _counted({**chunk.model_dump(exclude_none=True), "model": self.cloud["model"]}, usage, include_usage)
                if data is None:
                    continue
                await response.write(b"data: " + json.dumps(data).encode() + b"\n\n")
            await response.write(b"data: [DONE]\n\n")
        except Exception as e:
            await response.write(b"data: " + json.dumps({"error": {
                "message": f"the cloud model failed mid-answer ({type(e).__name__})", "type": "server_error",
                "code": "upstream_error", "param": None}}).encode() + b"\n\n")
        await response.write_eof()
        return response

    def _cloud_error(self, e: Exception) -> web.Response:
        from .. import keys as provider_keys

        text = provider_keys.redact(str(e).splitlines()[0] if str(e) else type(e).__name__)[:300]
        status = getattr(e, "status_code", 502)
        if status == 429:
            return error(429, f"the cloud provider is over its limit: {text}", "rate_limit_error", "provider_rate_limit")
        return error(502, f"the cloud model failed: {text}", "server_error", "upstream_error")

    def _upstream_error(self, status: int, payload) -> web.Response:
        detail = (payload or {}).get("error") or {}
        message = detail.get("message") if isinstance(detail, dict) else str(detail)
        if isinstance(detail, dict) and detail.get("type") == "exceed_context_size_error":
            return error(400, f"the prompt and max_tokens exceed the model's context of {self.context} tokens: "
                         f"{message}", "invalid_request_error", "context_length_exceeded", "messages")
        if 400 <= status < 500:
            return error(400, f"the model server refused the request: {message}", "invalid_request_error")
        return error(502, f"the model server failed ({status}): {message}", "server_error", "upstream_error")

    async def embeddings(self, request):
        learner = request[LEARNER]
        body = await read_json(request)
        model, texts, encoding = validate.embeddings(body, list(self.embedders))
        refused = self._admit(learner)
        if refused:
            return refused
        used = 0
        try:
            response, used = await embed_reply(self.embedders[model], model, texts, encoding, self.embed_lock)
            self.store.record(learner, prompt=used)
            return response
        finally:
            self.limiter.done(learner, used)


# -- shared with `portalit serve` ---------------------------------------------------------------------
@web.middleware
async def errors(request, handler):
    """Every failure as OpenAI's JSON error: 4xx for the request's faults, never a bare 500 page."""
    try:
        return await handler(request)
    except validate.BadRequest as e:
        kind = "not_found_error" if e.status == 404 else "invalid_request_error"
        return error(e.status, e.message, kind, e.code, e.param)
    except web.HTTPRequestEntityTooLarge:
        return error(413, f"the request body is larger than {MAX_BODY} bytes", "invalid_request_error", "body_too_large")
    except web.HTTPException as e:
        if e.status == 404:
            return error(404, f"no route {request.method} {request.path}; try /v1/models, /v1/chat/completions "
                         "or /v1/embeddings", "not_found_error")
        if e.status >= 400:
            return error(e.status, e.reason or "error", "invalid_request_error")
        raise
    except asyncio.CancelledError:
        raise
    except Exception as e:  # a server answers, with nothing of the request in the message
        log.exception("internal error on %s", request.path)
        return error(500, f"internal error ({type(e).__name__})", "server_error")


async def read_json(request) -> dict:
    """The body as a JSON object, read within BODY_SECONDS; BadRequest (400, 408, 415) otherwise."""
    try:
        raw = await asyncio.wait_for(request.read(), BODY_SECONDS)
    except asyncio.TimeoutError:
        raise validate.BadRequest(f"the request body did not arrive within {BODY_SECONDS:.0f} s",
                                  code="request_timeout", status=408) from None
    try:
        body = json.loads(raw)
    except ValueError:
        raise validate.BadRequest("the request body is not valid JSON") from None
    if request.content_type != "application/json":
        raise validate.BadRequest(f"Content-Type must be application/json, not {request.content_type!r}",
                                  code="unsupported_media_type", status=415)
    if not isinstance(body, dict):
        raise validate.BadRequest("the request body must be a JSON object")
    return body


async def embed_reply(engine, model: str, texts: list[str], encoding: str, lock: asyncio.Lock):
    """(the embeddings response, tokens used); one batch at a time, off the event loop."""
    async with lock:  # the model's threads are busy with one batch
        vectors, used = await asyncio.get_running_loop().run_in_executor(
            None, lambda: (engine.embed(texts), engine.count_tokens(texts)))
    data = [{"object": "embedding", "index": i, "embedding": _encode(v, encoding)} for i, v in enumerate(vectors)]
    return web.json_response({"object": "list", "model": model, "data": data,
                              "usage": {"prompt_tokens": used, "total_tokens": used}}), used


def _counted(chunk: dict, usage: dict, include_usage: bool) -> dict | None:
    """Counts a streamed chunk into `usage` (one token per content event until the engine's own
    count arrives, so a learner who hangs up is still charged) and drops the usage the learner
    did not ask for; None when nothing is left to send."""
    if chunk.get("usage"):
        usage.update(chunk["usage"], final=True)
        if not include_usage:
            chunk = {k: v for k, v in chunk.items() if k != "usage"}
            if not chunk.get("choices"):
                return None
    elif chunk.get("choices") and not usage.get("final"):
        usage["completion_tokens"] = usage.get("completion_tokens", 0) + 1
    return chunk


def _encode(vector, encoding: str):
    import numpy as np

    if encoding == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
    return [float(x) for x in vector]


def _openai_error(chunk: dict) -> dict:
    detail = chunk.get("error")
    message = detail.get("message") if isinstance(detail, dict) else str(detail)
    code = "context_length_exceeded" if isinstance(detail, dict) and detail.get("type") == "exceed_context_size_error" else "upstream_error"
    return {"error": {"message": message, "type": "server_error", "code": code, "param": None}}
