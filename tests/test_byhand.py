"""portalit.byhand: every way Python reaches a reference function is seen in the source."""
import pytest

from portalit import byhand, grading

GEOMETRY = "portalit.geometry"
SETUP = ["import numpy as np\n\nimport portalit\nfrom portalit import geometry, grading\n"]
KNOWN = byhand.aliases(SETUP, GEOMETRY)

HONEST = [
    "def map_2d(X):\n    Xc = X - X.mean(axis=0)\n    U, S, Vt = np.linalg.svd(Xc, full_matrices=False)\n"
    "    return Xc @ Vt[:2].T, float((S[:2] ** 2).sum() / (S ** 2).sum())",
    "def pca(X, k):  # the learner's own function of the same name\n    return X[:, :k]\nresult = pca(X, 2)",
    "print(geometry.cosine(u, v))  # another reference function is fine",
    "portalit.check(3)",
    "def score(u, v):\n    return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))",
]

CHEATS = [
    "def map_2d(X):\n    p = geometry.pca(X, 2)\n    return p.coords, p.explained_variance.sum()",
    "from portalit.geometry import pca as principal\nprincipal(X, 2)",
    "from portalit.geometry.projection import pca",
    "from portalit.geometry import *",
    "import portalit.geometry as g\ng.pca(X, 2)",
    "portalit.geometry.pca(X, 2)",
    "geometry.projection.pca(X, 2)",
    "g = geometry\ng.pca(X, 2)",
    "f = getattr(geometry, 'p' + 'ca')",
    "def map_2d(X, g=geometry):\n    return g.pca(X, 2)",
    "eval('geometry.pca')(X, 2)",
    "__import__('portalit.geometry').geometry.pca(X, 2)",
    "import importlib\nimportlib.import_module('portalit.geometry')",
    "from importlib import import_module",
    "import sys\nsys.modules['portalit.geometry']",
    "globals()['geometry']",
    "import portalit.geometry\nm = portalit.geometry",
]


@pytest.mark.parametrize("source", HONEST)
def test_honest_code_passes(source):
    assert byhand.reaches(source, GEOMETRY, {"pca"}, KNOWN) == []


@pytest.mark.parametrize("source", CHEATS)
def test_every_route_to_the_reference_is_seen(source):
    assert byhand.reaches(source, GEOMETRY, {"pca"}, KNOWN), source


def test_a_syntax_error_reaches_nothing():
    assert byhand.reaches("def broken(:", GEOMETRY, {"pca"}, KNOWN) == []


def test_check_by_hand_reads_the_part_and_added_cells_and_passes_outside_the_grader(monkeypatch):
    grading.check_by_hand(GEOMETRY, {"pca"}, "map_2d")  # nothing submitted: a learner's own kernel
    cells = [("map_2d", HONEST[0]), ("search", CHEATS[7]), ("cell 9", CHEATS[0])]
    monkeypatch.setattr(grading, "SUBMITTED", {"setup": SETUP, "cells": cells})
    with pytest.raises(grading.CheckFailed, match=r"this part is to be written by hand, but your code uses "
                                                  r"portalit.geometry.pca \(in cell 9\)"):
        grading.check_by_hand(GEOMETRY, {"pca"}, "map_2d")
    # Another part's answer cell is judged by that part's test, not this one.
    monkeypatch.setattr(grading, "SUBMITTED", {"setup": SETUP, "cells": cells[:2]})
    grading.check_by_hand(GEOMETRY, {"pca"}, "map_2d")
    with pytest.raises(grading.CheckFailed, match="passes the module portalit.geometry around"):
        grading.check_by_hand(GEOMETRY, {"pca"}, "search")
