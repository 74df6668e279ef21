"""LoRA on SmolLM2-135M-Instruct, on this CPU.

No package ships SmolLM2's safetensors, so the base is the packaged Q4_1 GGUF dequantised by
transformers: exactly the weights llama.cpp runs, which is why an adapter trained here can be
loaded onto that GGUF later. Only the answer's tokens are trained on (the question is context).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from .. import models
from .data import Example, tuned_messages

BASE = "smollm2-135m"
# The tuned model's chat: SmolLM2's own ChatML turns, minus the default system message its template
# adds ("You are a helpful AI assistant named SmolLM..."): the router is asked the question alone,
# and half of every training sequence would otherwise be that sentence.
TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
END = "<|im_end|>"


@dataclass(frozen=True)
class Settings:
    epochs: int = 4
    rank: int = 16
    alpha: int = 32
    learning_rate: float = 1e-3
    batch_size: int = 16
    seed: int = 0
    targets: tuple = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def load_base():
    """(model, tokenizer): SmolLM2 dequantised from its GGUF, fp32, on the CPU (about 20 s)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    path = models.get(BASE, "chat").path()
    kwargs = {"gguf_file": path.name, "local_files_only": True}
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), **kwargs)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), dtype=torch.float32, **kwargs)
    return model, tokenizer


def router_tokenizer(tokenizer):
    tokenizer.chat_template = TEMPLATE
    return tokenizer


def encode(tokenizer, example: Example) -> tuple[list[int], list[int]]:
    """(input ids, labels): the chat as the model will see it, with -100 on all but the answer."""
    prompt = list(tokenizer.apply_chat_template(tuned_messages(example.question), add_generation_prompt=True,
                                                tokenize=True, return_dict=True)["input_ids"])
    answer = tokenizer(example.lesson + END, add_special_tokens=False)["input_ids"]
    return prompt + answer, [-100] * len(prompt) + answer


def train(model, tokenizer, examples: list[Example], settings: Settings = Settings(), progress=None):
    """A LoRA adapter on `model` (a peft model is returned), and the seconds training took."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(settings.seed)
    config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=0.0,
                        target_modules=list(settings.targets), task_type="CAUSAL_LM")
    tuned = get_peft_model(model, config)
    encoded = [encode(tokenizer, e) for e in examples]
    optimiser = torch.optim.AdamW([p for p in tuned.parameters() if p.requires_grad], lr=settings.learning_rate)
    steps = settings.epochs * -(-len(encoded) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1 - step / steps)
    order = torch.Generator().manual_seed(settings.seed)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    started = time.perf_counter()
    tuned.train()
    for epoch in range(settings.epochs):
        total = 0.0
        for batch in torch.randperm(len(encoded), generator=order).split(settings.batch_size):
            loss = _answer_loss(tuned, [encoded[i] for i in batch.tolist()], pad)
            loss.backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            total += loss.item() * len(batch)
        if progress:
            progress(f"epoch {epoch + 1}/{settings.epochs}: loss {total / len(encoded):.3f} "
                     f"({time.perf_counter() - started:.0f} s)")
    tuned.eval()
    return tuned, round(time.perf_counter() - started, 1)


def _answer_loss(model, rows, pad_id):
    """Cross-entropy on the answer tokens only. Rows are padded on the left, so every answer ends
    the sequence and only the last few positions need logits: the 49,152-word output layer, the
    costliest step, runs on 4 positions instead of all of them."""
    import torch

    answer = max(sum(1 for x in labels if x != -100) for _, labels in rows)
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    target = torch.full((len(rows), answer), -100)
    for i, (row_ids, row_labels) in enumerate(rows):
        ids[i, width - len(row_ids):] = torch.tensor(row_ids)
        mask[i, width - len(row_ids):] = 1
        kept = [x for x in row_labels if x != -100]
        target[i, answer - len(kept):] = torch.tensor(kept)
    logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=answer + 1).logits[:, :-1]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)


def answer(model, tokenizer, messages: list[dict], max_tokens: int = 4) -> str:
    """Greedy answer of a transformers (or peft) model: how the peft adapter is scored."""
    import torch

    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=max_tokens, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    return tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
