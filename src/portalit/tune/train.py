"""LoRA on SmolLM2-135M-Instruct, on this CPU.

No package ships SmolLM2's safetensors, so the base is the packaged Q4_1 GGUF dequantised by
transformers: exactly the weights llama.cpp runs, which is why an adapter trained here can be
loaded onto that GGUF later. Only the answer's tokens are trained on (the question is context).
"""
from __future__ import annotations

import contextlib
import io
import random
import time
import warnings
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
    epochs: int = 10
    rank: int = 32
    alpha: int = 64
    learning_rate: float = 1e-3
    batch_size: int = 4  # small batches: 50 steps an epoch; 16 learned far less in the same time
    seed: int = 0
    targets: tuple = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    # The bottom `frozen` of the model's 30 layers get no adapter. Their output for each training
    # question never changes, so it is computed once and every epoch runs only the layers above:
    # with 16 frozen, an epoch costs about half a full pass.
    frozen: int = 16
    # Each question also trains in `variants` copies with a `word_drop` share of its words left out
    # at random, one copy an epoch: the adapter cannot memorise one exact wording, and the held-out
    # questions are all new wordings.
    variants: int = 4
    word_drop: float = 0.2


def load_base():
    """(model, tokenizer): SmolLM2 dequantised from its GGUF, fp32, on the CPU (about 20 s)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    path = models.get(BASE, "chat").path()
    kwargs = {"gguf_file": path.name, "local_files_only": True}
    # The GGUF reader draws its own progress bar on stderr, which a notebook shows as an error.
    with contextlib.redirect_stderr(io.StringIO()):
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
    layers = model.config.num_hidden_layers
    if not 0 <= settings.frozen < layers:
        raise ValueError(f"frozen={settings.frozen}: keep at least one of the {layers} layers trainable")
    config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=0.0,
                        target_modules=list(settings.targets), task_type="CAUSAL_LM",
                        layers_to_transform=list(range(settings.frozen, layers)) if settings.frozen else None)
    with warnings.catch_warnings():  # peft asks transformers a deprecated question; nothing to act on
        warnings.simplefilter("ignore", FutureWarning)
        tuned = get_peft_model(model, config)
    started = time.perf_counter()
    pick = random.Random(settings.seed)
    copies = [[e] + [dropped(e, settings.word_drop, pick) for _ in range(settings.variants)] for e in examples]
    encoded = [encode(tokenizer, c) for group in copies for c in group]
    states = iter(zip(_states_below(tuned, [ids for ids, _ in encoded], settings.frozen), encoded))
    groups = [[(state, labels) for state, (_, labels) in (next(states) for _ in group)] for group in copies]
    optimiser = torch.optim.AdamW([p for p in tuned.parameters() if p.requires_grad], lr=settings.learning_rate)
    steps = settings.epochs * -(-len(groups) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1 - step / steps)
    order = torch.Generator().manual_seed(settings.seed)
    tuned.train()
    with _only_layers(tuned, settings.frozen):
        for epoch in range(settings.epochs):
            rows = [group[0] if epoch == 0 else pick.choice(group) for group in groups]
            total = 0.0
            for batch in torch.randperm(len(rows), generator=order).split(settings.batch_size):
                loss = _answer_loss(tuned, [rows[i] for i in batch.tolist()])
                loss.backward()
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
                total += loss.item() * len(batch)
            if progress:
                progress(f"epoch {epoch + 1}/{settings.epochs}: loss {total / len(rows):.3f} "
                         f"({time.perf_counter() - started:.0f} s)")
    tuned.eval()
    return tuned, round(time.perf_counter() - started, 1)


def dropped(example: Example, share: float, pick: random.Random) -> Example:
    """The example with about `share` of its question's words left out (never all of them)."""
    words = example.question.split()
    kept = [w for w in words if pick.random() >= share]
    return Example(" ".join(kept or words), example.lesson)


def _states_below(model, sequences: list[list[int]], frozen: int, batch: int = 16) -> list:
    """Each sequence's hidden states where layer `frozen` takes them in (the token embeddings when
    0): what the frozen layers make of it, computed once, in left-padded batches."""
    import torch

    if frozen == 0:
        return [model.get_input_embeddings()(torch.tensor(ids)).detach() for ids in sequences]
    states = []
    with torch.no_grad(), _only_layers(model, 0, frozen):
        for start in range(0, len(sequences), batch):
            group = sequences[start:start + batch]
            width = max(map(len, group))
            ids = torch.zeros((len(group), width), dtype=torch.long)
            mask = torch.zeros((len(group), width), dtype=torch.long)
            for i, row in enumerate(group):
                ids[i, width - len(row):] = torch.tensor(row)
                mask[i, width - len(row):] = 1
            out = model.get_base_model().model(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
            states += [out[i, width - len(row):].clone() for i, row in enumerate(group)]
    return states


class _only_layers:
    """Within it, the model runs only its layers [start, stop) (and, stopping early, no final norm),
    taking their input as inputs_embeds."""

    def __init__(self, model, start: int, stop: int | None = None):
        self.inner, self.start, self.stop = model.get_base_model().model, start, stop

    def __enter__(self):
        import torch

        self.layers, self.norm, self.count = self.inner.layers, self.inner.norm, self.inner.config.num_hidden_layers
        kept = list(self.layers)[self.start:self.stop]
        self.inner.layers = torch.nn.ModuleList(kept)
        self.inner.config.num_hidden_layers = len(kept)
        if self.stop is not None and self.stop < self.count:
            self.inner.norm = torch.nn.Identity()
        return self

    def __exit__(self, *exc):
        self.inner.layers, self.inner.norm, self.inner.config.num_hidden_layers = self.layers, self.norm, self.count


def _answer_loss(model, rows):
    """Cross-entropy on the answer tokens only. Rows are padded on the left, so every answer ends
    the sequence and only the last few positions need logits: the 49,152-word output layer, the
    costliest step, runs on 4 positions instead of all of them. (Left padding shifts every position
    of a row alike, which rotary attention, depending only on distances, does not see.)"""
    import torch

    answer = max(sum(1 for x in labels if x != -100) for _, labels in rows)
    width = max(len(state) for state, _ in rows)
    states = torch.zeros((len(rows), width, rows[0][0].shape[-1]))
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    target = torch.full((len(rows), answer), -100)
    for i, (state, labels) in enumerate(rows):
        states[i, width - len(state):] = state
        mask[i, width - len(state):] = 1
        kept = [x for x in labels if x != -100]
        target[i, answer - len(kept):] = torch.tensor(kept)
    logits = model(inputs_embeds=states, attention_mask=mask, logits_to_keep=answer + 1, use_cache=False).logits[:, :-1]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)


def answer(model, tokenizer, messages: list[dict], max_tokens: int = 4) -> str:
    """Greedy answer of a transformers (or peft) model: how the peft adapter is scored."""
    return answers(model, tokenizer, [messages], max_tokens)[0]


def answers(model, tokenizer, chats: list[list[dict]], max_tokens: int = 4, batch: int = 16) -> list[str]:
    """Greedy answers to many chats, in order, generated in left-padded batches.

    One chat at a time, a 4-token answer costs four passes over the whole model, most of it fixed
    overhead; a batch of 16 shares each pass. Chats are sorted by length so a batch pads little.
    Padding is masked and positions start at each row's first real token, so each answer is the
    one the chat gets alone (tests/tune checks this on a tuned adapter)."""
    import torch

    prompts = [list(tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=True,
                                                  return_dict=True)["input_ids"]) for m in chats]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[str] = [""] * len(prompts)
    pad = tokenizer.eos_token_id
    for start in range(0, len(order), batch):
        rows = order[start:start + batch]
        width = max(len(prompts[i]) for i in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            ids[r, width - len(prompts[i]):] = torch.tensor(prompts[i])
            mask[r, width - len(prompts[i]):] = 1
        with torch.inference_mode():
            generated = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_tokens,
                                       do_sample=False, pad_token_id=pad)
        for r, i in enumerate(rows):
            out[i] = tokenizer.decode(generated[r, width:], skip_special_tokens=True)
    return out
