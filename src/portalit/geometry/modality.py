"""The modality gap (Liang et al. 2022): in a two-tower model, images and texts sit in two separate
cones of the shared space, even though matched pairs still find each other.

The real features in data/modality-gap/features_<name>.npy are float32 arrays of shape (2, N, D):
[0] is the non-text modality (image, video, medical image or protein sequence), [1] is text, row i
of both is one matched pair, every row L2-normalised. See data/modality-gap/PROVENANCE.md.
"""
from __future__ import annotations

import numpy as np

from ..errors import PortalitError
from .datasets import data_dir

FOLDER = "modality-gap"


def modality_feature_names() -> list[str]:
    """Names accepted by load_modality_features, e.g. "clip" and "clip_random" (untrained)."""
    folder = data_dir() / FOLDER
    return sorted(p.name[len("features_"):-len(".npy")] for p in folder.glob("features_*.npy"))


def load_modality_features(name: str = "clip"):
    """(A, B): the paired non-text (A) and text (B) embeddings of one model, each (N, D) float32."""
    names = modality_feature_names()
    path = data_dir() / FOLDER / f"features_{name}.npy"
    if name not in names:
        where = "" if names else f" (none in {path.parent}; set PORTALIT_DATA to the data folder)"
        raise PortalitError(f"unknown modality features {name!r}; "
                            f"choose one of: {', '.join(names) or 'none'}{where}")
    features = np.load(path, allow_pickle=False)
    if features.ndim != 3 or features.shape[0] != 2:
        raise PortalitError(f"{path} has shape {features.shape}; expected (2, pairs, dim)")
    return features[0], features[1]


def modality_gap(A, B) -> dict:
    """Gap and pairing statistics for paired embeddings (row i of A matches row i of B).

    Rows are L2-normalised first (as contrastive models do). Returns {n, dim, gap, matched_cosine,
    random_cosine, retrieval_top1, chance, centred}: gap = |mean(A) - mean(B)|; random_cosine is the
    mean over all non-matching pairs (exact, no sampling); retrieval_top1 = share of A rows whose
    most similar B row is their partner. `centred` repeats the statistics after subtracting each
    modality's mean and re-normalising: the gap nearly vanishes while retrieval barely moves.
    """
    A, B = _paired(A, B)
    plain = _statistics(_unit(A), _unit(B))
    centred = _statistics(_unit(A - A.mean(axis=0)), _unit(B - B.mean(axis=0)))
    return {"n": len(A), "dim": A.shape[1], **plain, "chance": 1.0 / len(A), "centred": centred}


def _statistics(A, B):
    sims = A @ B.T
    n = len(A)
    matched = np.trace(sims) / n
    others = (sims.sum() - np.trace(sims)) / (n * n - n)
    return {
        "gap": float(np.linalg.norm(A.mean(axis=0) - B.mean(axis=0))),
        "matched_cosine": float(matched),
        "random_cosine": float(others),
        "retrieval_top1": float((sims.argmax(axis=1) == np.arange(n)).mean()),
    }


def _unit(X):
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def _paired(A, B):
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if A.ndim != 2 or B.ndim != 2 or A.size == 0 or B.size == 0:
        raise PortalitError(f"expected two non-empty (n, d) arrays, got shapes {A.shape} and {B.shape}")
    if len(A) != len(B):
        raise PortalitError(f"A has {len(A)} rows but B has {len(B)}; row i of each must be one matched pair")
    if A.shape[1] != B.shape[1]:
        raise PortalitError(f"A has {A.shape[1]} dimensions but B has {B.shape[1]}; "
                            "paired embeddings share one space")
    if len(A) < 2:
        raise PortalitError(f"need at least 2 pairs to compare matched with random pairs, got {len(A)}")
    return A, B
