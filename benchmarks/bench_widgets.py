"""Widget callback timings against their budgets: analogy and neighbours <= 100 ms; an EmbeddingMap
of 2,000 points: PCA <= 1 s, UMAP <= 20 s the first time and instant when cached.

Each figure is what a learner waits for: the widget's whole callback (library call, HTML, plot
update), not the library call alone. The 2,000 points are sentences of gensim's Lee corpus embedded
by minilm (`--words`: 2,000 frequent GloVe words instead, no embedding step). The UMAP cache lives
in a fresh temporary folder, so "first" is a real first fit (including `import umap`).
`python benchmarks/bench_widgets.py [--words] [--repeat N]` prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def median_ms(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def points(n: int, words: bool):
    """(texts, vectors, seconds spent embedding) for n points."""
    from portalit.models import load_glove

    if words:
        glove = load_glove()
        chosen = [w for w in glove.words[:5000] if w.isalpha()][:n]
        return chosen, glove.vectors[[glove.index[w] for w in chosen]], 0.0
    from bench_embed import sentences

    import portalit

    texts = list(dict.fromkeys(sentences(4 * n)))[:n]
    start = time.perf_counter()
    vectors = portalit.Client("local-cpu").embed(texts)
    return texts, vectors, time.perf_counter() - start


def run(words: bool = False, repeat: int = 20, n: int = 2000) -> dict:
    os.environ["PORTALIT_CACHE"] = tempfile.mkdtemp(prefix="portalit-bench-")
    from portalit.geometry import projection
    from portalit.widgets import AnalogyExplorer, EmbeddingMap

    explorer = AnalogyExplorer("king", "man", "woman")  # loads GloVe once
    analogy = {}
    for method in ("3cosadd", "3cosmul"):
        explorer.method.value = method
        analogy[method] = median_ms(explorer.run, repeat)
    assert explorer.error is None and explorer.answer == "queen"

    texts, vectors, embed_s = points(n, words)
    start = time.perf_counter()
    emap = EmbeddingMap(texts, vectors=vectors)  # PCA at construction, figure included
    pca_s = time.perf_counter() - start
    assert emap.error is None and emap.method == "pca"
    pca_again_ms = median_ms(lambda: emap.project("pca"), 5)
    neighbours_ms = median_ms(lambda: emap.select(7), repeat)

    start = time.perf_counter()
    emap.project("umap", wait=True)
    umap_first_s = time.perf_counter() - start
    assert emap.error is None and emap.method == "umap" and not emap.cached
    start = time.perf_counter()
    emap.project("pca")
    emap.project("umap", wait=True)
    umap_cached_ms = (time.perf_counter() - start) * 1000
    assert emap.cached
    projection._MEMORY.clear()  # as in a new kernel: only the on-disk cache is left
    start = time.perf_counter()
    emap.project("pca")
    emap.project("umap", wait=True)
    umap_disk_ms = (time.perf_counter() - start) * 1000
    return {
        "points": len(texts), "source": "glove words" if words else "minilm sentences",
        "dim": int(vectors.shape[1]), "embed_s": round(embed_s, 2),
        "analogy_callback_ms": analogy, "neighbours_callback_ms": neighbours_ms,
        "map_pca_s": round(pca_s, 3), "map_pca_switch_ms": pca_again_ms,
        "map_umap_first_s": round(umap_first_s, 2),
        "map_umap_cached_ms": round(umap_cached_ms, 1), "map_umap_disk_cached_ms": round(umap_disk_ms, 1),
        "budgets": {"analogy_ms": 100, "neighbours_ms": 100, "pca_s": 1, "umap_first_s": 20},
        "cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", action="store_true", help="2,000 GloVe words instead of minilm sentences")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(run(args.words, args.repeat)))
