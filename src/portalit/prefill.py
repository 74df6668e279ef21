"""Prefill: the first words of the assistant's answer are written for the model, which continues them.

`prefill.chat(client, '{"', prompt=...)` renders the conversation with the model's own chat template,
opens the assistant's turn, appends the prefix and lets the model continue from there; the text it
returns starts with the prefix, so a check reads the whole answer.

Which backends can do it: a local model (local-cpu through llama.cpp or transformers, local-gpu
through transformers), because the prompt is rendered here. An OpenAI-compatible chat API takes
finished turns only: a last assistant message is answered, not continued (OpenAI's own API, and
`portalit serve`). Some providers do continue it (Anthropic's Messages API documents prefill;
vLLM's chat endpoint has `continue_final_message`), but not through one shared interface, so those
backends raise a PortalitError that says so instead of silently answering something else.
"""
from __future__ import annotations

import time

from .errors import PortalitError
from .session import ChatResult, build_messages


def supported(client) -> bool:
    """Whether `client` can continue a prefix (a model running in this process)."""
    return client.backend in ("local-cpu", "local-gpu")


def chat(client, prefix: str, prompt=None, *, messages=None, system=None, temperature=0.0, max_tokens=256,
         seed=0) -> ChatResult:
    """The model's answer to `prompt` (or `messages`) when its turn starts with `prefix`; the text includes the prefix."""
    from . import engines

    if not supported(client):
        raise PortalitError(f"backend {client.backend!r} cannot prefill an answer here (its chat API answers a "
                            "last assistant message instead of continuing it); choose one of: local-cpu, local-gpu")
    if not isinstance(prefix, str) or not prefix:
        raise PortalitError("prefill needs a non-empty prefix, such as '{\"' or 'Answer:'")
    messages = build_messages(prompt, messages, system)
    if messages[-1]["role"] == "assistant":
        raise PortalitError("the conversation already ends with an assistant turn; give the prefix as `prefix` instead")
    params = client._params(temperature, max_tokens, seed, None)  # the same range checks as chat()
    client.spec.prepare(client.target)
    engine = engines.chat_engine(client.model, client.spec.device)
    start = time.perf_counter()
    if hasattr(engine, "llm"):
        text, prompt_tokens, completion_tokens, finish = _llama(engine, client.model, messages, prefix, params)
    else:
        text, prompt_tokens, completion_tokens, finish = _transformers(engine, messages, prefix, params)
    latency = time.perf_counter() - start
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens}
    result = ChatResult(prefix + text, client.backend, client.model, usage, round(latency, 4),
                        round(completion_tokens / latency, 2) if latency > 0 else 0.0, finish,
                        messages + [{"role": "assistant", "content": prefix}])
    client._finished(result)
    return result


def _llama(engine, model, messages, prefix, params):
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from .engines import template
    from .engines.types import chat_messages

    llm = engine.llm
    eos, bos = llm.token_eos(), llm.token_bos()
    custom = template(model)  # a catalogue model whose file has no template (Gemma's base model)
    text, stop = custom if custom else (llm.metadata.get("tokenizer.chat_template"), None)
    if not text:
        raise PortalitError(f"{engine.path} has no chat template, so an answer cannot be prefilled")
    formatter = Jinja2ChatFormatter(
        text, eos_token=stop or (llm._model.token_get_text(eos) if eos != -1 else ""),
        bos_token=llm.detokenize([bos], special=True).decode() if bos != -1 else "", stop_token_ids=[eos])
    rendered = formatter(messages=chat_messages(messages))
    stops = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop] if rendered.stop else []
    with engine.lock:
        llm.reset()  # as LlamaCppChat does: no cached prefix, so temperature 0 does not depend on the last call
        tokens = llm.tokenize((rendered.prompt + prefix).encode("utf-8"), add_bos=not rendered.added_special,
                              special=True)
        out = llm.create_completion(prompt=tokens, temperature=params["temperature"], max_tokens=params["max_tokens"],
                                    seed=params["seed"], stop=stops or None)
    choice = out["choices"][0]
    return choice["text"], out["usage"]["prompt_tokens"], out["usage"]["completion_tokens"], \
        choice.get("finish_reason") or "stop"


def _transformers(engine, messages, prefix, params):
    import torch

    from .engines.transformers_chat import _cut
    from .engines.types import chat_messages

    tok = engine.tokenizer
    rendered = tok.apply_chat_template(chat_messages(messages), add_generation_prompt=True, tokenize=False)
    with engine.lock, torch.inference_mode():
        inputs = tok(rendered + prefix, return_tensors="pt", add_special_tokens=False).to(engine.device)
        out = engine.model.generate(**inputs, **engine._kwargs(params["temperature"], params["max_tokens"],
                                                               params["seed"]), pad_token_id=tok.eos_token_id)
    n_prompt = inputs["input_ids"].shape[1]
    new = out[0, n_prompt:]
    text = _cut(tok.decode(new, skip_special_tokens=True), [engine.turn_stop])
    return text, int(n_prompt), int(len(new)), "length" if len(new) >= params["max_tokens"] else "stop"
