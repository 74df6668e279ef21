"""Small labelled datasets that ship in the repository's data/ folder, each with its licence.

`load_opinions()`: 320 short opinions written for this course (CC0), 4 topics x 2 sentiments x 40,
in data/opinions/opinions.csv (columns text, topic, sentiment); see data/opinions/PROVENANCE.md.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

from .errors import PortalitError
from .geometry.modality import data_dir

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
