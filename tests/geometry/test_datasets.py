"""portalit.geometry.datasets: the opinions dataset ships complete, balanced and licensed."""
from __future__ import annotations

from collections import Counter

import pytest

from portalit.geometry import datasets
from portalit.errors import PortalitError


def test_opinions_are_balanced_distinct_and_labelled():
    data = datasets.load_opinions()
    assert len(data) == len(data.texts) == len(data.topic) == len(data.sentiment) == 320
    assert set(data.topic) == set(datasets.TOPICS) and set(data.sentiment) == set(datasets.SENTIMENTS)
    assert set(Counter(zip(data.topic, data.sentiment)).values()) == {40}
    assert len(set(data.texts)) == 320
    assert all(3 <= len(t.split()) <= 20 and t.strip() == t for t in data.texts)


def test_opinions_have_a_licence_and_provenance():
    folder = datasets.opinions_path().parent
    assert "CC0" in (folder / "LICENSE").read_text()
    provenance = (folder / "PROVENANCE.md").read_text()
    assert "CC0" in provenance and "written" in provenance and "load_opinions" in provenance


def test_data_folder_override_and_missing_file(tmp_path, monkeypatch):
    (tmp_path / "opinions").mkdir()
    (tmp_path / "opinions" / "opinions.csv").write_text("text,topic,sentiment\nGreat soup.,food,positive\n")
    monkeypatch.setenv("PORTALIT_DATA", str(tmp_path))
    small = datasets.load_opinions()
    assert small.texts == ["Great soup."] and list(small.topic) == ["food"]
    (tmp_path / "opinions" / "opinions.csv").write_text("sentence,label\nGreat soup.,food\n")
    with pytest.raises(PortalitError, match="columns text, topic, sentiment"):
        datasets.load_opinions()
    monkeypatch.setenv("PORTALIT_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(PortalitError, match="opinions.csv is missing"):
        datasets.load_opinions()
