"""`portalit serve`: the embedded models behind an OpenAI-compatible HTTP API on 127.0.0.1.

The owned infrastructure of the last lesson, and the real endpoint the `server` backend is tested
against. Standard library HTTP only: it starts in about a second and opens no outbound socket.
Generation is serialised per model (llama.cpp contexts are not thread-safe); requests queue.
"""
from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import models
from . import engines
from .errors import PortalitError

EMBED_MODELS = ("minilm", "glove-50d")


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


class Service:
    """What the HTTP layer calls: one chat model plus the embedding models, loaded lazily."""

    def __init__(self, model: str = models.DEFAULT_CHAT):
        self.model = model
        engines.resolve_chat_path(model)  # fails now, naming the choices, rather than per request
        self.created = int(time.time())

    def model_ids(self) -> list[str]:
        return [self.model, *EMBED_MODELS]

    def chat_params(self, body: dict) -> tuple[list, dict]:
        name = body.get("model") or self.model
        if name != self.model:
            raise ApiError(404, f"model {name!r} is not served here; choose {self.model!r}", "not_found_error")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "messages must be a non-empty list of {role, content}")
        try:
            params = {
                "temperature": float(body.get("temperature") if body.get("temperature") is not None else 1.0),
                "max_tokens": int(body.get("max_tokens") or body.get("max_completion_tokens") or 256),
                "seed": int(body.get("seed") or 0),
                "stop": body.get("stop"),
            }
        except (TypeError, ValueError) as e:
            raise ApiError(400, f"bad parameter: {e}") from None
        return messages, params

    def chat(self, body: dict) -> dict:
        messages, params = self.chat_params(body)
        gen = engines.chat_engine(self.model).generate(messages, **params)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": gen.text},
                         "finish_reason": gen.finish_reason}],
            "usage": _usage(gen.prompt_tokens, gen.completion_tokens),
        }

    def chat_stream(self, body: dict):
        """Yields chat.completion.chunk dicts; the last one carries usage when asked for."""
        messages, params = self.chat_params(body)
        engine = engines.chat_engine(self.model)
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": self.model}
        yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]}
        for piece in engine.stream(messages, **params):
            yield {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        last = engine.last_stream
        yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": last.finish_reason}]}
        if (body.get("stream_options") or {}).get("include_usage"):
            yield {**base, "choices": [], "usage": _usage(last.prompt_tokens, last.completion_tokens)}

    def embeddings(self, body: dict) -> dict:
        name = body.get("model") or models.DEFAULT_EMBED
        if name not in EMBED_MODELS:
            raise ApiError(404, f"embedding model {name!r} is not served here; choose one of: "
                           f"{', '.join(EMBED_MODELS)}", "not_found_error")
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
            raise ApiError(400, "input must be a non-empty string or list of non-empty strings")
        engine = engines.embed_engine(name)
        vectors = engine.embed(texts)
        n = engine.count_tokens(texts)
        return {"object": "list", "model": name, "usage": {"prompt_tokens": n, "total_tokens": n},
                "data": [{"object": "embedding", "index": i, "embedding": v.tolist()}
                         for i, v in enumerate(vectors)]}


def _usage(prompt: int, completion: int) -> dict:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class Handler(BaseHTTPRequestHandler):
    service: Service  # set on the subclass made by make_server
    protocol_version = "HTTP/1.1"
    quiet = False

    def log_message(self, fmt, *args):  # one line per request; headers (and keys) never logged
        if not self.quiet:
            sys.stderr.write(f"{self.address_string()} {fmt % args}\n")

    def _send_json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send_json(status, {"error": {"message": message, "type": kind, "code": status}})

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise ApiError(400, "the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        return body

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if path in ("/v1/models", "/models"):
            self._send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": self.service.created, "owned_by": "portalit"}
                for m in self.service.model_ids()]})
        elif path in ("/health", ""):
            self._send_json(200, {"status": "ok", "model": self.service.model})
        else:
            self._error(404, f"no route GET {path}; try /v1/models", "not_found_error")

    def do_POST(self):
        path = self.path.split("?")[0].rstrip("/")
        try:
            body = self._body()
            if path in ("/v1/chat/completions", "/chat/completions"):
                if body.get("stream"):
                    return self._stream(self.service.chat_stream(body))
                return self._send_json(200, self.service.chat(body))
            if path in ("/v1/embeddings", "/embeddings"):
                return self._send_json(200, self.service.embeddings(body))
            raise ApiError(404, f"no route POST {path}; try /v1/chat/completions or /v1/embeddings",
                           "not_found_error")
        except ApiError as e:
            self._error(e.status, e.message, e.kind)
        except PortalitError as e:
            self._error(400, str(e), "invalid_request_error")
        except Exception as e:  # a server must answer, not drop the connection
            self._error(500, f"{type(e).__name__}: {e}", "server_error")

    def _stream(self, chunks) -> None:
        first = next(chunks)  # validation errors surface here, before the 200 is sent
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b"data: " + json.dumps(first).encode() + b"\n\n")
            for chunk in chunks:
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            chunks.close()  # the client went away; stop generating


def make_server(host: str = "127.0.0.1", port: int = 8000, model: str = models.DEFAULT_CHAT,
                quiet: bool = False) -> ThreadingHTTPServer:
    service = Service(model)
    handler = type("PortalitHandler", (Handler,), {"service": service, "quiet": quiet})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise PortalitError(f"cannot listen on {host}:{port} ({e.strerror}); choose another --port") from None
    server.daemon_threads = True
    return server


def start_in_thread(host="127.0.0.1", port=0, model=models.DEFAULT_CHAT, quiet=True):
    """Starts a server in this process (for notebooks and tests); returns (server, base_url)."""
    server = make_server(host, port, model, quiet)
    threading.Thread(target=server.serve_forever, daemon=True, name="portalit-serve").start()
    return server, f"http://{host}:{server.server_address[1]}/v1"


def run(host: str = "127.0.0.1", port: int = 8000, model: str = models.DEFAULT_CHAT) -> None:
    server = make_server(host, port, model)
    engines.chat_engine(model)  # load before announcing, so the first request is not slow
    url = f"http://{host}:{server.server_address[1]}/v1"
    print(f"portalit serve: {model} (+ {', '.join(EMBED_MODELS)}) on {url}  (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
