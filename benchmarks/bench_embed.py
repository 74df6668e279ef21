"""Embedding speed: the shared client (litellm -> our minilm provider) vs raw sentence-transformers.

Same model folder, same texts (sentences of gensim's Lee corpus, shipped with gensim), batch 32,
interleaved in one run; also checks both produce the same vectors. Run: python benchmarks/bench_embed.py
"""
from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
from pathlib import Path


def sentences(n: int) -> list[str]:
    folder = Path(list(importlib.util.find_spec("gensim").submodule_search_locations)[0])
    text = (folder / "test" / "test_data" / "lee_background.cor").read_text(encoding="utf-8", errors="ignore")
    found = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 4]
    return (found * (n // max(1, len(found)) + 1))[:n]


def busy(quick: bool = False) -> dict:
    """`--busy`: sentences/s with one core held, the policy against every fixed thread count."""
    import portalit

    from portalit.benchmarks import busy as harness

    texts = sentences(128 if quick else 512)
    client = portalit.Client("local-cpu")

    def sentences_per_s() -> float:
        start = time.perf_counter()
        client.embed(texts)
        return len(texts) / (time.perf_counter() - start)

    return {**harness.compare(sentences_per_s, rounds=1 if quick else 2), "unit": "sentences/s"}


def run(quick: bool = False, busy_run: bool = False) -> dict:
    if busy_run:
        return busy(quick)
    import numpy as np

    import portalit
    from portalit import models

    texts = sentences(256 if quick else 1000)
    rounds = 1 if quick else 3
    client = portalit.Client("local-cpu")
    ours_vectors = client.embed(texts[:32])  # loads litellm and the model
    from sentence_transformers import SentenceTransformer

    peer_model = SentenceTransformer(str(models.get("minilm").path()), device="cpu")
    peer_model.encode(texts[:32], batch_size=32)
    ours_t = peer_t = 0.0
    for r in range(rounds):
        for who in (("ours", "peer") if r % 2 == 0 else ("peer", "ours")):
            start = time.perf_counter()
            if who == "ours":
                ours_vectors = client.embed(texts)
                ours_t += time.perf_counter() - start
            else:
                peer_vectors = peer_model.encode(texts, batch_size=32, normalize_embeddings=True)
                peer_t += time.perf_counter() - start
    n = len(texts) * rounds
    ours, peer = n / ours_t, n / peer_t
    return {"ours": round(ours, 1), "peer": round(peer, 1), "ratio": round(ours / peer, 3),
            "unit": "sentences/s", "sentences": len(texts), "rounds": rounds,
            "max_abs_diff": float(np.abs(ours_vectors - peer_vectors).max())}


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv, busy_run="--busy" in sys.argv)))
