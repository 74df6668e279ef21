"""The course's data files (the repository's data/ folder, each with its licence and provenance),
and the small labelled datasets the lessons load from it.

data/ is installed with the package as the resource package `portalit.data` (see pyproject.toml),
so `data_dir()` finds it in a checkout and in an installed wheel alike; $PORTALIT_DATA overrides it.
`load_opinions()`: 320 short opinions written for this course (CC0), 4 topics x 2 sentiments x 40,
in data/opinions/opinions.csv (columns text, topic, sentiment); see data/opinions/PROVENANCE.md.
"""
from __future__ import annotations

import csv
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PortalitError


def data_dir() -> Path:
    """The course's data/ folder: $PORTALIT_DATA when set, else the one installed with the package."""
    if os.environ.get("PORTALIT_DATA"):
        return Path(os.environ["PORTALIT_DATA"])
    spec = importlib.util.find_spec("portalit.data")
    if spec is None or not spec.submodule_search_locations:
        raise PortalitError("the course's data folder is not installed with portalit (run `make setup`), "
                            "or set PORTALIT_DATA to the data folder")
    return Path(list(spec.submodule_search_locations)[0])

TOPICS = ("food", "travel", "technology", "sport")
SENTIMENTS = ("positive", "negative")


@dataclass(frozen=True)
class Opinions:
    """texts (list of str) with two labels each: topic and sentiment (numpy arrays of str)."""

    texts: list
    topic: np.ndarray
    sentiment: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)


def opinions_path():
    """data/opinions/opinions.csv (the data folder follows $PORTALIT_DATA when set)."""
    return data_dir() / "opinions" / "opinions.csv"


def load_opinions() -> Opinions:
    """The 320 labelled opinions, in file order (grouped by topic, then sentiment)."""
    path = opinions_path()
    if not path.exists():
        raise PortalitError(f"{path} is missing; it ships with the course repository (set PORTALIT_DATA "
                            "to the data folder if you moved it)")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or set(rows[0]) != {"text", "topic", "sentiment"}:
        raise PortalitError(f"{path} must have the columns text, topic, sentiment")
    return Opinions([r["text"] for r in rows], np.array([r["topic"] for r in rows]),
                    np.array([r["sentiment"] for r in rows]))
