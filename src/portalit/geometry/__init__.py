"""The geometry of meaning: cosine, neighbours, analogies, projections, alignment, modality gap.

Everything is importable from here, e.g. `from portalit.geometry import analogy`. Word functions
default to GloVe 6B 50d; the rest take plain (n, d) arrays. User errors raise PortalitError.
"""
from .alignment import linear_cka, linear_map_retrieval, mutual_knn_alignment, procrustes
from .evaluation import evaluate_analogies, google_analogies_path
from .modality import data_dir, load_modality_features, modality_feature_names, modality_gap
from .projection import Projection, pca, project
from .words import (analogy, analogy_payload, cosine, neighbours, products, suggest, top_indices, warm_search,
                    word_index)

__all__ = [
    "Projection",
    "analogy",
    "analogy_payload",
    "cosine",
    "data_dir",
    "evaluate_analogies",
    "google_analogies_path",
    "linear_cka",
    "linear_map_retrieval",
    "load_modality_features",
    "modality_feature_names",
    "modality_gap",
    "mutual_knn_alignment",
    "neighbours",
    "pca",
    "procrustes",
    "products",
    "project",
    "suggest",
    "top_indices",
    "warm_search",
    "word_index",
]
