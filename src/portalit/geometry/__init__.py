"""The geometry of meaning (lessons 03-07): everything is importable from here, e.g.
`from portalit.geometry import analogy`, or as a module, e.g. `from portalit.geometry import probes`.

    words, spelling, search (+ scan)  cosine, neighbours, analogies over GloVe; exact, fast (03)
    evaluation                        the Google analogy benchmark, scored as gensim scores it (03)
    projection, map_quality           PCA / UMAP maps, and how faithful a 2-D map is (04)
    alignment, tfidf                  the same items in two spaces: mutual k-NN, CKA, Procrustes (05)
    modality, twotower                the modality gap; a tiny CLIP trained in the notebook (06)
    probes                            linear probes on frozen embeddings (07)
    datasets, arrays                  the course's data files; checking (n, d) inputs

Word functions default to GloVe 6B 50d; the rest take plain (n, d) arrays. User errors raise
PortalitError.
"""
from .alignment import linear_cka, linear_map_retrieval, mutual_knn_alignment, procrustes
from .datasets import data_dir, load_opinions
from .evaluation import evaluate_analogies, google_analogies_path
from .map_quality import distance_correlation, label_purity, neighbours_kept
from .modality import load_modality_features, modality_feature_names, modality_gap
from .projection import Projection, pca, project
from .search import products, top_indices
from .spelling import suggest
from .tfidf import tfidf_vectors
from .words import analogy, analogy_payload, cosine, neighbours, warm_search, word_index

__all__ = [
    "Projection",
    "analogy",
    "analogy_payload",
    "cosine",
    "data_dir",
    "distance_correlation",
    "evaluate_analogies",
    "google_analogies_path",
    "label_purity",
    "linear_cka",
    "linear_map_retrieval",
    "load_modality_features",
    "load_opinions",
    "modality_feature_names",
    "modality_gap",
    "mutual_knn_alignment",
    "neighbours",
    "neighbours_kept",
    "pca",
    "procrustes",
    "products",
    "project",
    "suggest",
    "tfidf_vectors",
    "top_indices",
    "warm_search",
    "word_index",
]
