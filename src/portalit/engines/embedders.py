"""Local embedding engines: minilm sentence vectors (transformers, mean pooling) and GloVe text vectors.

minilm runs through plain transformers rather than sentence-transformers: the vectors are identical
(mean pooling over the attention mask, then L2 normalisation) and the import is ~5 s cheaper.
"""
from __future__ import annotations

import re
import threading

from .. import models, threads
from ..errors import PortalitError


class MiniLMEmbedder:
    engine = "transformers"
    batch_size = 32  # sentence-transformers' default, so benchmarks compare like with like

    def __init__(self, device: str = "cpu"):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a "Loading weights" bar in every notebook is noise

        folder = str(models.get("minilm").path())
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = AutoModel.from_pretrained(folder, local_files_only=True).to(device).eval()
        self.device = device
        self.max_length = 256  # all-MiniLM-L6-v2's max_seq_length
        self.lock = threading.Lock()
        self._torch = torch

    def embed(self, texts: list[str]):
        """(n, 384) float32, unit length. Texts are batched by length to waste little padding."""
        import numpy as np

        torch = self._torch
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), 384), dtype=np.float32)
        with self.lock, torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                if self.device == "cpu":  # per batch: as many torch threads as free cores (portalit.threads)
                    n = threads.threads()
                    if torch.get_num_threads() != n:
                        torch.set_num_threads(n)
                idx = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in idx], padding=True, truncation=True,
                    max_length=self.max_length, return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.float().cpu().numpy()
        return out

    def count_tokens(self, texts: list[str]) -> int:
        return sum(len(ids) for ids in self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"])


_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*|[^\sa-z0-9]")


class GloveTextEmbedder:
    """A text's vector is the mean of its words' GloVe vectors (words outside the vocabulary skipped)."""

    engine = "numpy"

    def __init__(self):
        self.table = models.load_glove()

    def embed(self, texts: list[str]):
        import numpy as np

        out = np.empty((len(texts), self.table.vectors.shape[1]), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = [self.table.index[w] for w in _WORD.findall(text.lower()) if w in self.table.index]
            if not ids:
                raise PortalitError(
                    f"no word of {text!r} is in the glove-50d vocabulary (400,000 lower-case words); "
                    "give English words, or use the minilm model"
                )
            out[row] = self.table.vectors[ids].mean(axis=0)
        return out

    def count_tokens(self, texts: list[str]) -> int:
        return sum(len(_WORD.findall(t.lower())) for t in texts)
