"""Chat through transformers: local-gpu on CUDA, and local-cpu's fallback when llama_cpp is missing."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from ..errors import PortalitError
from .types import Generation, chat_messages


class TransformersChat:
    """A causal LM from a local folder (or a GGUF file, dequantised by transformers) on one device."""

    engine = "transformers"

    def __init__(self, path: str | Path, device: str = "cpu", template: tuple[str, str] | None = None,
                 adapter: Path | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        path = Path(path)
        if not path.exists():
            raise PortalitError(f"model path {str(path)!r} does not exist; give a local model folder")
        if path.is_file():  # a GGUF file: transformers dequantises it (slow, needs `gguf`)
            folder, kwargs = str(path.parent), {"gguf_file": path.name}
        else:
            folder, kwargs = str(path), {}
        dtype = torch.float16 if device.startswith("cuda") else torch.float32
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **kwargs)
        self.model = AutoModelForCausalLM.from_pretrained(
            folder, local_files_only=True, dtype=dtype, **kwargs
        )
        if adapter:  # a LoRA adapter (peft's folder), merged in: then it runs as fast as the base
            from peft import PeftModel

            self.model = PeftModel.from_pretrained(self.model, str(adapter)).merge_and_unload()
        self.model = self.model.to(device)
        self.model.eval()
        self.turn_stop = None
        if template:  # the file has no chat template: the catalogue's, and the text that ends a turn
            self.tokenizer.chat_template, self.turn_stop = template
        self.device = device
        self.lock = threading.Lock()

    def _inputs(self, messages):
        ids = self.tokenizer.apply_chat_template(
            chat_messages(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return {k: v.to(self.device) for k, v in ids.items()}

    def _kwargs(self, temperature, max_tokens, seed):
        import torch

        torch.manual_seed(seed or 0)
        stop = {"stop_strings": [self.turn_stop], "tokenizer": self.tokenizer} if self.turn_stop else {}
        if temperature and temperature > 0:
            return {"do_sample": True, "temperature": float(temperature), "max_new_tokens": max_tokens, **stop}
        return {"do_sample": False, "max_new_tokens": max_tokens, **stop}

    def generate(self, messages, temperature=0.0, max_tokens=256, seed=0, stop=None) -> Generation:
        import torch

        with self.lock, torch.inference_mode():
            inputs = self._inputs(messages)
            out = self.model.generate(
                **inputs, **self._kwargs(temperature, max_tokens, seed),
                pad_token_id=self.tokenizer.eos_token_id,
            )
        n_prompt = inputs["input_ids"].shape[1]
        new = out[0, n_prompt:]
        text = _cut(self.tokenizer.decode(new, skip_special_tokens=True), [*_listed(stop), self.turn_stop])
        finish = "length" if len(new) >= max_tokens else "stop"
        return Generation(text, n_prompt, int(len(new)), finish)

    def stream(self, messages, temperature=0.0, max_tokens=256, seed=0, stop=None) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        with self.lock:
            inputs = self._inputs(messages)
            streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
            kwargs = dict(
                **inputs, **self._kwargs(temperature, max_tokens, seed), streamer=streamer,
                pad_token_id=self.tokenizer.eos_token_id,
            )

            def run():
                with torch.inference_mode():
                    self.model.generate(**kwargs)

            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            n = 0
            for piece in _held_back(streamer, [*_listed(stop), self.turn_stop]):
                n += 1
                yield piece
            for _ in streamer:  # generation stops at a stop text on its own; drain what it sent
                pass
            worker.join()
            self.last_stream = Generation("", int(inputs["input_ids"].shape[1]), n, "stop")


def _held_back(pieces, stops) -> Iterator[str]:
    """The pieces, ending before the first stop text: the tail that could still begin one is held
    back until it cannot (a stop text may arrive split over several pieces)."""
    stops = [s for s in stops if s]
    keep = max((len(s) for s in stops), default=1) - 1
    pending = ""
    for piece in pieces:
        pending += piece
        found = [pending.index(s) for s in stops if s in pending]
        if found:
            if pending[:min(found)]:
                yield pending[:min(found)]
            return
        if len(pending) > keep:
            yield pending[:len(pending) - keep]
            pending = pending[len(pending) - keep:]
    if pending:
        yield pending


def _listed(stop) -> list:
    return [stop] if isinstance(stop, str) else list(stop or [])


def _cut(text: str, stop) -> str:
    for s in _listed(stop):
        if s and s in text:
            text = text[: text.index(s)]
    return text
