"""The litellm bridge: litellm imported once with offline defaults, and the local engines registered
as litellm custom providers, so local and cloud calls share one code path.

`portalit/<model>` runs on the CPU, `portalit_gpu/<model>` on CUDA; <model> is a catalogue name
or a local path. litellm is imported on the first call that needs it, never at `import portalit`:
its import takes 4-5 s.
"""
from __future__ import annotations

import threading
import time

from . import chat_engine, embed_engine

PROVIDERS = {"portalit": "cpu", "portalit_gpu": "cuda"}


def model_id(model: str, device: str) -> str:
    """The litellm model id that runs `model` on a local `device` ("cpu" or "cuda")."""
    prefix = next(name for name, where in PROVIDERS.items() if where == device)
    return f"{prefix}/{model}"


def _params(optional_params: dict) -> dict:
    return {
        "temperature": float(optional_params.get("temperature", 0.0) or 0.0),
        "max_tokens": int(optional_params.get("max_tokens") or optional_params.get("max_completion_tokens") or 256),
        "seed": int(optional_params.get("seed") or 0),
        "stop": optional_params.get("stop"),
    }


def make_handler(device: str):
    import litellm
    from litellm import CustomLLM

    class LocalEngine(CustomLLM):
        def completion(self, model, messages, api_base, custom_prompt_dict, model_response,
                       print_verbose, encoding, api_key, logging_obj, optional_params, *args, **kwargs):
            gen = chat_engine(model, device).generate(messages, **_params(optional_params))
            model_response.choices[0].message.content = gen.text
            model_response.choices[0].finish_reason = gen.finish_reason
            model_response.model = model
            model_response.created = int(time.time())
            model_response.usage = litellm.Usage(
                prompt_tokens=gen.prompt_tokens, completion_tokens=gen.completion_tokens,
                total_tokens=gen.prompt_tokens + gen.completion_tokens,
            )
            return model_response

        def streaming(self, model, messages, api_base, custom_prompt_dict, model_response,
                      print_verbose, encoding, api_key, logging_obj, optional_params, *args, **kwargs):
            engine = chat_engine(model, device)
            for piece in engine.stream(messages, **_params(optional_params)):
                yield {"text": piece, "is_finished": False, "finish_reason": "", "usage": None,
                       "index": 0, "tool_use": None}
            last = engine.last_stream
            yield {"text": "", "is_finished": True, "finish_reason": last.finish_reason, "index": 0,
                   "tool_use": None,
                   "usage": {"prompt_tokens": last.prompt_tokens, "completion_tokens": last.completion_tokens,
                             "total_tokens": last.prompt_tokens + last.completion_tokens}}

        def embedding(self, model, input, model_response, print_verbose, logging_obj,
                      optional_params, *args, **kwargs):
            texts = [input] if isinstance(input, str) else list(input)
            engine = embed_engine(model, device)
            vectors = engine.embed(texts)
            model_response.data = [
                {"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)
            ]
            model_response.model = model
            n = engine.count_tokens(texts)
            model_response.usage = litellm.Usage(prompt_tokens=n, completion_tokens=0, total_tokens=n)
            return model_response

    return LocalEngine()


_litellm = None
_litellm_lock = threading.Lock()


def litellm():
    """litellm, imported once, offline defaults applied and the local providers registered."""
    global _litellm
    with _litellm_lock:
        if _litellm is None:
            from .. import offline

            offline.apply()
            import litellm as module

            module.suppress_debug_info = True
            module.drop_params = True  # a provider that lacks `seed` should not fail the call
            known = {item["provider"] for item in module.custom_provider_map}
            for name, device in PROVIDERS.items():
                if name not in known:
                    module.custom_provider_map.append({"provider": name, "custom_handler": make_handler(device)})
            _litellm = module
        return _litellm

