"""portalit.diagrams: drawn from the real data and the model's own template, each with an
accessible name and the same information as a table."""
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import portalit
from portalit import diagrams, engines, geometry
from portalit.errors import PortalitError
from portalit.models import load_glove

SVG = "{http://www.w3.org/2000/svg}"


def _svg(figure):
    root = ET.fromstring(re.search(r"<svg.*</svg>", figure.body, re.S).group(0))
    title = root.find(f"{SVG}title")
    assert root.get("role") == "img" and title is not None and title.text == figure.name
    assert set(root.get("aria-labelledby").split()) == {title.get("id"), root.find(f"{SVG}desc").get("id")}
    return root


def test_vector_arithmetic_draws_the_real_glove_geometry():
    figure = diagrams.vector_arithmetic("man", "king", "woman")
    _svg(figure)
    assert "nearest to queen" in figure.name
    glove = load_glove()
    rows = [glove.index[w] for w in ("man", "king", "woman", "queen")]
    target = glove.unit[rows[1]] - glove.unit[rows[0]] + glove.unit[rows[2]]
    expected = geometry.pca(np.vstack([glove.unit[rows], target]), 2).coords
    table = {row[0]: row for row in figure.rows}
    assert [row[0] for row in figure.rows] == ["man", "king", "woman", "queen", "king - man + woman"]
    assert np.allclose([[r[1], r[2]] for r in figure.rows], expected, atol=1e-3)
    assert table["queen"][3] == pytest.approx(float(glove.unit[rows[3]] @ target / np.linalg.norm(target)), abs=1e-3)
    html = figure._repr_html_()
    assert 'role="group"' in html and "<table>" in html and "<th scope=\"col\">point</th>" in html


@pytest.mark.parametrize("model", ["smollm2-135m", "gemma3-270m"])
def test_chat_template_is_what_the_engine_reads(model):
    messages = [{"role": "system", "content": "Answer in one word."},
                {"role": "user", "content": "Is this review positive or negative? The soup was cold."}]
    figure = diagrams.chat_template(messages, model=model)
    result = portalit.Client("local-cpu", model=model).chat(messages=messages, max_tokens=1)
    engine = next(e for key, e in engines._cache.items() if key[0] == "chat" and key[1].endswith(
        engines.resolve_chat_path(model).name))
    read = engine.llm.detokenize(engine.llm.input_ids[:result.usage["prompt_tokens"]].tolist(), special=True).decode()
    drawn = re.sub(r"<[^>]+>", "", figure.body.split(">", 1)[1].rsplit("</pre>", 1)[0])
    import html as html_lib
    assert html_lib.unescape(drawn) == read.removeprefix("<bos>") or html_lib.unescape(drawn) == read
    assert f"{result.usage['prompt_tokens']} tokens in all" in figure.caption
    mine = [row for row in figure.rows if row[0] == "your text"]
    assert [row[1] for row in mine] == [m["content"] for m in messages]


def test_two_towers_and_ids_unique_within_a_page():
    first, second = diagrams.two_towers(), diagrams.two_towers()
    ids = [e.get("id") for f in (first, second) for e in _svg(f).iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    assert len(first.rows) == 3 and first.columns == ["input", "encoder", "output"]


def test_bad_messages_are_one_clear_error():
    with pytest.raises(PortalitError, match="messages must be a list of"):
        diagrams.chat_template("hello")


def test_picture_grid_is_a_real_png_with_its_name_and_every_caption():
    import base64
    import zlib

    from portalit.geometry import twotower

    shapes = twotower.make_shapes(6, seed=0)
    sheet = twotower.contact_sheet(shapes, columns=3)
    figure = diagrams.picture_grid(sheet, shapes.captions, 3, "Six pictures")
    png = base64.b64decode(re.search(r'base64,([^"]+)"', figure.body).group(1))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and b"IHDR" in png[:16]
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (height, width) == sheet.shape[:2]
    idat = png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8]
    rows = zlib.decompress(idat)
    assert rows[1:1 + width * 3] == sheet[0].tobytes()  # the first row, after its filter byte
    assert 'alt="Six pictures"' in figure.body
    assert [row[2] for row in figure.rows] == list(shapes.captions) and figure.rows[4][:2] == [2, 2]
    with pytest.raises(PortalitError, match="uint8 image"):
        diagrams.picture_grid(sheet.astype(float), shapes.captions, 3, "x")
