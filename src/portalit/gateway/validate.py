"""What a request may ask, checked before anything runs: a bad request gets a 400 that names the
field and the valid choices (OpenAI's error shape), never a 500 and never silence."""
from __future__ import annotations

MAX_MESSAGES = 256
MAX_TEXT_CHARS = 200_000
MAX_EMBED_CHARS = 900_000  # under the 1 MB body cap
MAX_EMBED_INPUTS = 2048  # what OpenAI takes per request
ROLES = ("system", "user", "assistant", "developer")
CHAT_FIELDS = {"model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
               "temperature", "top_p", "seed", "stop", "user", "n", "presence_penalty", "frequency_penalty",
               "continue_final_message", "add_generation_prompt"}
EMBED_FIELDS = {"model", "input", "encoding_format", "user"}


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status


def _number(body, name, low, high, kind=(int, float)):
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        raise BadRequest(f"{name} must be a number from {low} to {high}, not {value!r}", name)
    return value


def _unknown(body: dict, allowed: set) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise BadRequest(f"unsupported field {extra[0]!r}; this server takes: {', '.join(sorted(allowed))}", extra[0])


def _text(content, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        parts = []
        for part in content:
            if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
                raise BadRequest(f"{where}: only text parts ({{'type': 'text', 'text': ...}}) are supported", "messages")
            parts.append(part["text"])
        return "".join(parts)
    raise BadRequest(f"{where}: content must be a string or a list of text parts", "messages")


def _model(body: dict, models: list[str], kind: str = "model") -> str:
    """The model asked for (the first served one when none is named), or a 404 naming the choices."""
    model = body.get("model") or models[0]
    if model not in models:
        choices = repr(models[0]) if len(models) == 1 else "one of: " + ", ".join(models)
        raise BadRequest(f"{kind} {model!r} is not served here; choose {choices}", "model", "model_not_found", 404)
    return model


def chat(body: dict, models: list[str], context: int | dict) -> dict:
    """The request as the engine takes it (messages with plain text content); BadRequest otherwise.
    `context`: the models' context in tokens, one for all or {model: tokens}."""
    _unknown(body, CHAT_FIELDS)
    model = _model(body, models)
    if isinstance(context, dict):
        context = context[model]
    messages = body.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        raise BadRequest(f"messages must be a list of 1 to {MAX_MESSAGES} {{role, content}} objects", "messages")
    clean, size = [], 0
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise BadRequest(f"messages[{i}]: role must be one of {', '.join(ROLES)}", "messages")
        text = _text(m.get("content"), f"messages[{i}]")
        size += len(text)
        clean.append({"role": "system" if m["role"] == "developer" else m["role"], "content": text})
    if size > MAX_TEXT_CHARS:
        raise BadRequest(f"the messages hold {size} characters; at most {MAX_TEXT_CHARS}", "messages",
                         "context_length_exceeded")
    if body.get("n") not in (None, 1):
        raise BadRequest("n must be 1 (one answer per request)", "n")
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= context):
        raise BadRequest(f"max_tokens must be a whole number from 1 to {context}, not {limit!r}", "max_tokens")
    stop = body.get("stop")
    if stop is not None and not (isinstance(stop, str) or (isinstance(stop, list) and len(stop) <= 4
                                                             and all(isinstance(s, str) for s in stop))):
        raise BadRequest("stop must be a string or a list of up to 4 strings", "stop")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("stream must be true or false", "stream")
    options = body.get("stream_options")
    if options is not None and not (isinstance(options, dict) and set(options) <= {"include_usage"}):
        raise BadRequest("stream_options may only hold include_usage", "stream_options")
    request = {"model": model, "messages": clean, "stream": stream, "max_tokens": limit or 256}
    if _continues(body, clean):
        request.update(continue_final_message=True, add_generation_prompt=False)
    for name, low, high in (("temperature", 0, 2), ("top_p", 0, 1), ("presence_penalty", -2, 2),
                            ("frequency_penalty", -2, 2)):
        value = _number(body, name, low, high)
        if value is not None:
            request[name] = value
    seed = _number(body, "seed", -(2**63), 2**63 - 1, int)
    if seed is not None:
        request["seed"] = seed
    if stop is not None:
        request["stop"] = stop
    return request


def _continues(body: dict, messages: list[dict]) -> bool:
    """Whether the request asks to continue its last (assistant) message instead of answering it.

    vLLM's convention, which llama-server takes too: `continue_final_message: true` with
    `add_generation_prompt: false` (it defaults to true, and the two cannot both be true). Without
    the flag a trailing assistant message is a finished turn, and the model answers after it."""
    flags = {}
    for name, default in (("continue_final_message", False), ("add_generation_prompt", True)):
        value = body.get(name, default)
        if not isinstance(value, bool):
            raise BadRequest(f"{name} must be true or false, not {value!r}", name)
        flags[name] = value
    if not flags["continue_final_message"]:
        if not flags["add_generation_prompt"]:
            raise BadRequest("add_generation_prompt: false is only supported with continue_final_message: true "
                             "(continuing the last assistant message)", "add_generation_prompt")
        return False
    if flags["add_generation_prompt"]:
        raise BadRequest("continue_final_message and add_generation_prompt cannot both be true; send "
                         "add_generation_prompt: false to continue the last assistant message", "add_generation_prompt")
    if messages[-1]["role"] != "assistant" or not messages[-1]["content"]:
        raise BadRequest("continue_final_message needs the last message to be the assistant's, holding the text "
                         "to continue (non-empty)", "messages")
    return True


def embeddings(body: dict, models: list[str]) -> tuple[str, list[str], str]:
    _unknown(body, EMBED_FIELDS)
    model = _model(body, models, "embedding model")
    texts = body.get("input")
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list) or not 1 <= len(texts) <= MAX_EMBED_INPUTS or \
            not all(isinstance(t, str) and t for t in texts):
        raise BadRequest(f"input must be a non-empty string or a list of 1 to {MAX_EMBED_INPUTS} non-empty strings "
                         "(token arrays are not supported)", "input")
    if sum(len(t) for t in texts) > MAX_EMBED_CHARS:
        raise BadRequest(f"input holds more than {MAX_EMBED_CHARS} characters", "input")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise BadRequest(f"encoding_format must be float or base64, not {encoding!r}", "encoding_format")
    return model, texts, encoding
