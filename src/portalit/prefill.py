"""Prefill: the first words of the assistant's answer are written for the model, which continues them.

`prefill.chat(client, '{"', prompt=...)` renders the conversation with the model's own chat template,
opens the assistant's turn, appends the prefix and lets the model continue from there; the text it
returns starts with the prefix, so a check reads the whole answer.

Which backends can do it:
- a local model (local-cpu through llama.cpp or transformers, local-gpu through transformers):
  the prompt is rendered here;
- `server`, when the server continues a final assistant message. The request is vLLM's convention,
  which llama.cpp's llama-server also takes: the prefix as the last (assistant) message, with
  `continue_final_message: true, add_generation_prompt: false`; the answer holds the continuation
  only. A plain OpenAI-compatible server would instead *answer* that last message (ignoring the
  unknown flag), and nothing in its reply tells the two apart, so the server must say it continues:
  `portalit serve` and `portalit gateway` mark each chat model that can with
  `"continue_final_message": true` in /v1/models. For another server you know follows the
  convention (vLLM), opt in with `Client("server", ..., continue_final_message=True)`.
- cloud backends are refused: Anthropic's API documents prefill, but it is not tested here.
Anything else raises a PortalitError that says so, instead of silently answering something else.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import weakref

from .errors import PortalitError
from .session import ChatResult, build_messages

LOCAL = ("local-cpu", "local-gpu")
FLAGS = {"continue_final_message": True, "add_generation_prompt": False}  # vLLM's and llama-server's
CAN = ("local-cpu, local-gpu, or server when it continues a final assistant message (portalit serve, "
       "portalit gateway; another server with Client('server', ..., continue_final_message=True))")

_declared: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # client -> what its server said


def supported(client) -> bool:
    """Whether `client` can continue a prefix: a local model, or a server that says it continues
    a final assistant message (asked once per client; False when it cannot be reached)."""
    if client.backend in LOCAL:
        return True
    if client.backend != "server":
        return False
    try:
        return _server_continues(client)
    except PortalitError:
        return False


def chat(client, prefix: str, prompt=None, *, messages=None, system=None, temperature=0.0, max_tokens=256,
         seed=0) -> ChatResult:
    """The model's answer to `prompt` (or `messages`) when its turn starts with `prefix`; the text includes the prefix."""
    if not isinstance(prefix, str) or not prefix:
        raise PortalitError("prefill needs a non-empty prefix, such as '{\"' or 'Answer:'")
    messages = build_messages(prompt, messages, system)
    if messages[-1]["role"] == "assistant":
        raise PortalitError("the conversation already ends with an assistant turn; give the prefix as `prefix` instead")
    params = client._params(temperature, max_tokens, seed, None)  # the same range checks as chat()
    if client.backend == "server":
        if not _server_continues(client):
            raise PortalitError(
                f"server {client.target.kwargs['api_base']} does not say that it continues a final assistant message "
                f"(its /v1/models entry for {client.model!r} has no \"continue_final_message\": true), so it would "
                "answer the prefix instead of continuing it. Use portalit serve or portalit gateway, or, for a server "
                "that takes vLLM's continue_final_message, Client('server', ..., continue_final_message=True)")
        return _server(client, messages, prefix, params)
    if client.backend not in LOCAL:
        raise PortalitError(f"backend {client.backend!r} cannot prefill an answer here (its chat API answers a "
                            f"last assistant message instead of continuing it, or it is not tested); choose: {CAN}")
    return _local(client, messages, prefix, params)


# -- local: the prompt is rendered here ---------------------------------------------------------------
def _local(client, messages, prefix, params) -> ChatResult:
    from . import engines

    client.spec.prepare(client.target)
    engine = engines.chat_engine(client.model, client.spec.device)
    start = time.perf_counter()
    done: dict = {}
    text = "".join(continuation(engine, client.model, messages, prefix, params["temperature"],
                                params["max_tokens"], params["seed"], done=done, stream=False))
    latency = time.perf_counter() - start
    return _result(client, messages, prefix, text, done, latency)


def continuation(engine, model: str, messages: list[dict], prefix: str, temperature=0.0, max_tokens=256, seed=0,
                 stop=None, *, done: dict, stream: bool = True):
    """Yields the text that continues `prefix` as the assistant's turn after `messages`; at the end
    `done` holds prompt_tokens, completion_tokens and finish_reason. `portalit serve` streams it
    (a client that hangs up stops it at the next piece); the local path takes it whole."""
    if hasattr(engine, "llm"):
        return _llama(engine, model, messages, prefix, temperature, max_tokens, seed, stop, done, stream)
    return _transformers(engine, messages, prefix, temperature, max_tokens, seed, stop, done)


def _llama(engine, model, messages, prefix, temperature, max_tokens, seed, stop, done, stream):
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from .engines import template
    from .engines.types import chat_messages

    llm = engine.llm
    eos, bos = llm.token_eos(), llm.token_bos()
    custom = template(model)  # a catalogue model whose file has no template (Gemma's base model)
    text, turn_stop = custom if custom else (llm.metadata.get("tokenizer.chat_template"), None)
    if not text:
        raise PortalitError(f"{engine.path} has no chat template, so an answer cannot be prefilled")
    formatter = Jinja2ChatFormatter(
        text, eos_token=turn_stop or (llm._model.token_get_text(eos) if eos != -1 else ""),
        bos_token=llm.detokenize([bos], special=True).decode() if bos != -1 else "", stop_token_ids=[eos])
    rendered = formatter(messages=chat_messages(messages))
    stops = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop] if rendered.stop else []
    stops += [stop] if isinstance(stop, str) else list(stop or [])
    with engine.lock:
        llm.reset()  # as LlamaCppChat does: no cached prefix, so temperature 0 does not depend on the last call
        tokens = llm.tokenize((rendered.prompt + prefix).encode("utf-8"), add_bos=not rendered.added_special,
                              special=True)
        done["prompt_tokens"] = len(tokens)
        if not stream:
            out = llm.create_completion(prompt=tokens, temperature=temperature, max_tokens=max_tokens, seed=seed,
                                        stop=stops or None)
            choice = out["choices"][0]
            done.update(completion_tokens=out["usage"]["completion_tokens"],
                        finish_reason=choice.get("finish_reason") or "stop")
            yield choice["text"]
            return
        done.update(completion_tokens=0, finish_reason="stop")
        for chunk in llm.create_completion(prompt=tokens, temperature=temperature, max_tokens=max_tokens, seed=seed,
                                           stop=stops or None, stream=True):
            choice = chunk["choices"][0]
            if choice.get("text"):
                done["completion_tokens"] += 1  # one piece per token, as LlamaCppChat.stream counts
                yield choice["text"]
            if choice.get("finish_reason"):
                done["finish_reason"] = choice["finish_reason"]


def _transformers(engine, messages, prefix, temperature, max_tokens, seed, stop, done):
    import torch

    from .engines.transformers_chat import _cut
    from .engines.types import chat_messages

    tok = engine.tokenizer
    rendered = tok.apply_chat_template(chat_messages(messages), add_generation_prompt=True, tokenize=False)
    with engine.lock, torch.inference_mode():
        inputs = tok(rendered + prefix, return_tensors="pt", add_special_tokens=False).to(engine.device)
        out = engine.model.generate(**inputs, **engine._kwargs(temperature, max_tokens, seed),
                                    pad_token_id=tok.eos_token_id)
    n_prompt = inputs["input_ids"].shape[1]
    new = out[0, n_prompt:]
    stops = [engine.turn_stop] + ([stop] if isinstance(stop, str) else list(stop or []))
    text = _cut(tok.decode(new, skip_special_tokens=True), stops)
    done.update(prompt_tokens=int(n_prompt), completion_tokens=int(len(new)),
                finish_reason="length" if len(new) >= max_tokens else "stop")
    yield text


# -- server: the flag, and the server's word that it honours it ---------------------------------------
def _server_continues(client) -> bool:
    if client.options.get("continue_final_message"):
        return True
    if client not in _declared:
        _declared[client] = _model_entry(client).get("continue_final_message") is True
    return _declared[client]


def _model_entry(client) -> dict:
    """The server's /v1/models entry for the client's model ({} when it lists no such model)."""
    base, key = client.target.kwargs["api_base"], client.target.kwargs.get("api_key")
    request = urllib.request.Request(base + "/models", headers={"Authorization": f"Bearer {key}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback stays on the machine
    try:
        with opener.open(request, timeout=10) as response:
            body = json.load(response)
    except urllib.error.HTTPError as e:
        raise PortalitError(f"server {base} refused GET /models ({e.code}), so it cannot say whether it "
                            "continues a final assistant message") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise PortalitError(f"server {base} is unreachable ({getattr(e, 'reason', e)}); start one with "
                            "`portalit serve` or give the right api_base") from None
    found = [m for m in body.get("data") or [] if isinstance(m, dict) and m.get("id") == client.model]
    return found[0] if found else {}


def _server(client, messages, prefix, params) -> ChatResult:
    from .engines import bridge
    from .session import _translated_errors, _usage

    sent = messages + [{"role": "assistant", "content": prefix}]
    client.spec.prepare(client.target)
    lm = bridge.litellm()
    start = time.perf_counter()
    with _translated_errors(client):
        response = lm.completion(model=client.target.chat_id, messages=sent, extra_body=dict(FLAGS), **params)
    latency = time.perf_counter() - start
    choice = response.choices[0]
    usage = _usage(response.usage)
    done = {"prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"],
            "finish_reason": choice.finish_reason or "stop"}
    return _result(client, messages, prefix, choice.message.content or "", done, latency)


def _result(client, messages, prefix, text, done, latency) -> ChatResult:
    p, c = done["prompt_tokens"], done["completion_tokens"]
    result = ChatResult(prefix + text, client.backend, client.model,
                        {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}, round(latency, 4),
                        round(c / latency, 2) if latency > 0 else 0.0, done["finish_reason"],
                        messages + [{"role": "assistant", "content": prefix}])
    client._finished(result)
    return result
