"""A tiny two-tower contrastive model (CLIP in miniature) on generated pictures of coloured shapes.

Pictures are 16x16 RGB drawings of one shape in one colour, at a random place and size, with pixel
noise; each comes with a caption such as "a red circle". An image tower (a small CNN, "plain", or
one with separate colour and shape paths, "factored") and a text tower (word vectors averaged, or
frozen sentence vectors, then a linear layer) map both into one shared space, trained with the
symmetric InfoNCE loss of CLIP (Radford et al. 2021). Some colour-shape combinations are held out
of training, so a test can ask whether the model matches combinations it has never seen.

Everything is seeded and runs on the CPU in seconds. torch is imported on first use.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import PortalitError

COLOURS = {
    "red": (0.9, 0.1, 0.1),
    "green": (0.1, 0.75, 0.15),
    "blue": (0.15, 0.25, 0.95),
    "yellow": (0.95, 0.9, 0.1),
    "purple": (0.6, 0.15, 0.8),
    "orange": (1.0, 0.55, 0.05),
}
SHAPES = ("circle", "square", "triangle", "cross")
SIZE = 16
# Several phrasings, so the text tower must learn what the colour and shape words mean.
TEMPLATES = ("a {colour} {shape}", "a {shape} that is {colour}", "one {colour} {shape}",
             "a picture of a {colour} {shape}", "{colour} {shape}")
# Each colour is held out once and each shape at most twice, so every word is still seen in training.
HELD_OUT = (("red", "triangle"), ("green", "cross"), ("blue", "circle"),
            ("yellow", "square"), ("purple", "triangle"), ("orange", "cross"))


def combinations() -> list[tuple[str, str]]:
    """Every (colour, shape) pair, colours outer: 6 x 4 = 24."""
    return [(c, s) for c in COLOURS for s in SHAPES]


def caption(colour: str, shape: str) -> str:
    """The canonical caption, "a {colour} {shape}" ("an orange ..."), used for zero-shot matching."""
    return _articles(f"a {colour} {shape}")


def _articles(text):
    return re.sub(r"\ba (?=[aeiou])", "an ", text)


@dataclass
class Shapes:
    """Generated pictures (n, 3, 16, 16) float32 in [0, 1], their captions, colours and shapes."""

    images: np.ndarray
    captions: list[str]
    colours: list[str]
    shapes: list[str]

    def __len__(self) -> int:
        return len(self.captions)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return list(zip(self.colours, self.shapes))


def make_shapes(n: int, combos=None, seed: int = 0) -> Shapes:
    """n pictures drawn from `combos` (default: all 24) in turn, each with a caption from TEMPLATES."""
    combos = list(combos) if combos is not None else combinations()
    if not combos:
        raise PortalitError("make_shapes needs at least one (colour, shape) combination")
    for colour, shape in combos:
        if colour not in COLOURS or shape not in SHAPES:
            raise PortalitError(f"unknown combination ({colour!r}, {shape!r}); colours: {', '.join(COLOURS)}; "
                                f"shapes: {', '.join(SHAPES)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise PortalitError(f"n must be a whole number >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    images = np.empty((n, 3, SIZE, SIZE), dtype=np.float32)
    caps, cols, shps = [], [], []
    for i in range(n):
        colour, shape = combos[i % len(combos)]
        images[i] = _draw(colour, shape, rng)
        caps.append(_articles(TEMPLATES[rng.integers(len(TEMPLATES))].format(colour=colour, shape=shape)))
        cols.append(colour)
        shps.append(shape)
    return Shapes(images, caps, cols, shps)


def _draw(colour, shape, rng):
    radius = rng.uniform(3.0, 6.0)
    cx, cy = rng.uniform(radius, SIZE - 1 - radius, size=2)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    dx, dy = x - cx, y - cy
    if shape == "circle":
        mask = dx ** 2 + dy ** 2 <= radius ** 2
    elif shape == "square":
        half = radius * 0.85
        mask = (np.abs(dx) <= half) & (np.abs(dy) <= half)
    elif shape == "triangle":  # pointing up: wider towards the bottom
        mask = (dy >= -radius) & (dy <= radius * 0.8) & (np.abs(dx) <= (dy + radius) * 0.6)
    else:  # cross
        bar = max(radius / 3.0, 1.0)
        mask = ((np.abs(dx) <= bar) & (np.abs(dy) <= radius)) | ((np.abs(dy) <= bar) & (np.abs(dx) <= radius))
    rgb = np.clip(np.asarray(COLOURS[colour]) * rng.uniform(0.6, 1.0) + rng.normal(0, 0.04, 3), 0, 1)
    picture = np.full((3, SIZE, SIZE), rng.uniform(0.0, 0.25))  # a dark grey background of random shade
    picture[:, mask] = rgb[:, None]
    picture += rng.normal(0, 0.05, picture.shape)
    return np.clip(picture, 0, 1)


def split_combinations(held_out=HELD_OUT) -> tuple[list, list]:
    """(seen, unseen) combinations: unseen are left out of training for the zero-shot test."""
    unseen = [tuple(p) for p in held_out]
    return [p for p in combinations() if p not in unseen], unseen


def tokens(text: str) -> list[str]:
    """Lower-case words of a caption."""
    return text.lower().replace(",", " ").split()


@dataclass
class TrainedTwoTower:
    """A trained model: embed images and texts into the shared space (unit vectors)."""

    model: object
    vocabulary: dict
    losses: list = field(default_factory=list)
    seconds: float = 0.0
    text_vectors: object = None  # the callable texts -> (n, d) array when the text tower reads frozen vectors
    image_tower: str = "plain"

    def embed_images(self, images) -> np.ndarray:
        """(n, 3, 16, 16) pictures -> (n, dim) unit vectors."""
        import torch

        with torch.no_grad():
            return self.model.image(torch.as_tensor(np.asarray(images, dtype=np.float32))).numpy()

    def embed_texts(self, texts) -> np.ndarray:
        """Captions -> (n, dim) unit vectors; words the tower never saw are ignored."""
        import torch

        texts = [texts] if isinstance(texts, str) else list(texts)
        with torch.no_grad():
            return self.model.text(self._text_input(texts)).numpy()

    def _text_input(self, texts):
        import torch

        if self.text_vectors is not None:
            return torch.as_tensor(np.asarray(self.text_vectors(texts), dtype=np.float32))
        return _bags(texts, self.vocabulary)

    @property
    def temperature(self) -> float:
        """The learned softmax temperature (CLIP starts at 0.07)."""
        return float(1.0 / self.model.logit_scale.exp().item())


def _bags(texts, vocabulary):
    import torch

    ids, offsets = [], []
    for text in texts:
        offsets.append(len(ids))
        known = [vocabulary[w] for w in tokens(text) if w in vocabulary]
        ids.extend(known or [0])  # 0 is the padding word: an unknown caption embeds as "nothing"
    return torch.tensor(ids), torch.tensor(offsets)


IMAGE_TOWERS = ("plain", "factored")


def _build(vocab_size, dim, text_in, seed, image_tower):
    import torch
    from torch import nn

    torch.manual_seed(seed)

    class Plain(nn.Module):
        """A small CNN: two convolutions, a global max pool, a two-layer head."""

        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(
                nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, dim))

        def forward(self, x):
            return self.layers(x)

    class Factored(nn.Module):
        """Two paths built in: shape from a colour-blind brightness image, colour from single pixels."""

        def __init__(self):
            super().__init__()
            self.shape = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten())
            self.colour = nn.Sequential(nn.Conv2d(3, 16, 1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten())
            self.head = nn.Linear(32 + 16, dim)

        def forward(self, x):
            brightness = x.max(dim=1, keepdim=True).values
            return self.head(torch.cat([self.shape(brightness), self.colour(x)], dim=1))

    class Towers(nn.Module):
        def __init__(self):
            super().__init__()
            self.image_tower = Plain() if image_tower == "plain" else Factored()
            # Text: the mean of learned word vectors, or frozen sentence vectors, then one linear layer.
            self.words = nn.EmbeddingBag(vocab_size, 32, mode="mean", padding_idx=0) if text_in is None else None
            self.text_tower = nn.Linear(32 if text_in is None else text_in, dim)
            self.logit_scale = nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32))

        def image(self, x):
            return nn.functional.normalize(self.image_tower(x), dim=-1)

        def text(self, x):
            if self.words is not None:
                x = self.words(*x)
            return nn.functional.normalize(self.text_tower(x), dim=-1)

    return Towers()


def _vocabulary(texts):
    words = sorted({w for t in texts for w in tokens(t)})
    return {w: i + 1 for i, w in enumerate(words)}  # 0 is padding


def train(data: Shapes, steps: int = 150, image_tower: str = "plain", text_vectors=None, *,
          batch_size: int = 128, dim: int = 32, lr: float = 3e-3, seed: int = 0,
          progress: bool = True) -> TrainedTwoTower:
    """Train both towers with the symmetric InfoNCE loss on `data`; seeded and deterministic.

    image_tower: "plain" (a small CNN) or "factored" (separate colour and shape paths).
    text_vectors: None (word vectors learned from scratch) or a callable texts -> (n, d) array,
    e.g. a frozen sentence-embedding model; only a linear layer on top of it is trained.
    steps=0 returns the towers at random initialisation, for before/after comparisons.
    In a batch, pictures with the same colour and shape all count as matches of each other's
    captions (soft targets), since with 24 combinations a batch holds many repeats.
    """
    import torch

    if image_tower not in IMAGE_TOWERS:
        raise PortalitError(f"unknown image_tower {image_tower!r}; choose one of: {', '.join(IMAGE_TOWERS)}")
    if len(data) < 2:
        raise PortalitError("train needs at least 2 pictures")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise PortalitError(f"steps must be a whole number >= 0 (0: the towers at initialisation), got {steps!r}")
    start = time.perf_counter()
    threads = torch.get_num_threads()
    # One thread: these matrices are tiny, and on a busy 2-core machine two threads that wait for
    # each other were measured 15x slower than one.
    torch.set_num_threads(1)
    try:
        return _train(data, steps, image_tower, text_vectors, batch_size, dim, lr, seed, progress, start)
    finally:
        torch.set_num_threads(threads)


def _train(data, steps, image_tower, text_vectors, batch_size, dim, lr, seed, progress, start):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    vocabulary = _vocabulary(data.captions)
    if text_vectors is not None:
        unique = sorted(set(data.captions))
        table = np.asarray(text_vectors(unique), dtype=np.float32)
        row = {c: i for i, c in enumerate(unique)}
        text_all = torch.as_tensor(table[[row[c] for c in data.captions]])
        model = _build(0, dim, table.shape[1], seed, image_tower)
    else:
        text_all = None
        model = _build(len(vocabulary) + 1, dim, None, seed, image_tower)
    images = torch.as_tensor(data.images)
    combo = np.unique(np.array([f"{c} {s}" for c, s in data.pairs]), return_inverse=True)[1]
    combo = torch.as_tensor(combo)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    batch_size = min(batch_size, len(data))
    losses = []
    bar = _progress(steps, progress)
    model.train()
    for step in range(steps):
        idx = rng.choice(len(data), size=batch_size, replace=False)
        if text_all is not None:
            text_in = text_all[idx]
        else:
            text_in = _bags([data.captions[i] for i in idx], vocabulary)
        img = model.image(images[idx])
        txt = model.text(text_in)
        logits = model.logit_scale.exp().clamp(max=100) * img @ txt.T
        same = (combo[idx][:, None] == combo[idx][None, :]).float()  # caption j describes picture i
        targets = same / same.sum(dim=1, keepdim=True)
        loss = (nn.functional.cross_entropy(logits, targets) + nn.functional.cross_entropy(logits.T, targets)) / 2
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
            if step % 20 == 0 or step == steps - 1:
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
    if bar is not None:
        bar.close()
    model.eval()
    return TrainedTwoTower(model, vocabulary, losses, time.perf_counter() - start, text_vectors, image_tower)


def _progress(total, show):
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training", unit="step")


def zero_shot(model: TrainedTwoTower, data: Shapes, candidates=None) -> dict:
    """Match each picture to the nearest caption among `candidates` (default: all 24 canonical ones).

    Returns {accuracy, colour_accuracy, shape_accuracy, chance, n, predicted}: a prediction is the
    candidate whose text vector has the highest cosine with the picture's vector.
    """
    candidates = list(candidates) if candidates is not None else combinations()
    texts = [caption(c, s) for c, s in candidates]
    sims = model.embed_images(data.images) @ model.embed_texts(texts).T
    predicted = [candidates[i] for i in sims.argmax(axis=1)]
    truth = data.pairs
    return {
        "accuracy": float(np.mean([p == t for p, t in zip(predicted, truth)])),
        "colour_accuracy": float(np.mean([p[0] == t[0] for p, t in zip(predicted, truth)])),
        "shape_accuracy": float(np.mean([p[1] == t[1] for p, t in zip(predicted, truth)])),
        "chance": 1.0 / len(candidates),
        "n": len(truth),
        "predicted": predicted,
    }


def retrieve(model: TrainedTwoTower, data: Shapes, queries, k: int = 10) -> list[dict]:
    """Text-to-picture search: for each query, the (colour, shape) most common among its k nearest pictures.

    Returns [{query, best, share, top}]: share = the fraction of the k pictures showing `best`;
    top = the (colour, shape) of each of the k pictures, nearest first.
    """
    queries = [queries] if isinstance(queries, str) else list(queries)
    if not 1 <= k <= len(data):
        raise PortalitError(f"k must be from 1 to {len(data)} (the number of pictures), got {k!r}")
    sims = model.embed_texts(queries) @ model.embed_images(data.images).T
    pairs = data.pairs
    out = []
    for query, row in zip(queries, sims):
        top = [pairs[i] for i in np.argsort(-row, kind="stable")[:k]]
        best = max(set(top), key=lambda p: (top.count(p), -top.index(p)))
        out.append({"query": query, "best": best, "share": top.count(best) / k, "top": top})
    return out


def contact_sheet(data: Shapes, columns: int = 12, count: int | None = None) -> np.ndarray:
    """The first `count` pictures tiled in a grid with 1-pixel gaps: a (H, W, 3) uint8 image to show."""
    count = len(data) if count is None else min(count, len(data))
    if count < 1 or columns < 1:
        raise PortalitError("contact_sheet needs at least one picture and one column")
    rows = -(-count // columns)
    step = SIZE + 1
    sheet = np.ones((rows * step + 1, min(columns, count) * step + 1, 3))
    for i in range(count):
        r, c = divmod(i, columns)
        sheet[1 + r * step:1 + r * step + SIZE, 1 + c * step:1 + c * step + SIZE] = data.images[i].transpose(1, 2, 0)
    return (sheet * 255).round().astype(np.uint8)
