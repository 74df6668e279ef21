"""Diagrams drawn by code, for where a learner would rather look than read.

    diagrams.vector_arithmetic("man", "king", "woman")   # lesson 03: king - man + woman, on GloVe
    diagrams.chat_template([{"role": "user", "content": "Hi"}])   # lesson 01: what the model reads
    diagrams.two_towers(32)                               # lesson 06: two encoders, one space
    diagrams.picture_grid(sheet, captions, 18, "...")     # lesson 06: the training pictures

Each returns a Figure: an inline SVG (or marked-up text) with an accessible name, a caption, and the
same information as a data table in a collapsed <details>, so a screen reader or a learner who
prefers numbers loses nothing. Drawn from the real data and the model's own template, never from
numbers typed into the drawing.
"""
from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, field

import numpy as np

from .errors import PortalitError

WIDTH, HEIGHT, PAD = 560, 360, 40
_ids = itertools.count(1)  # element ids unique within a page that shows several diagrams


@dataclass
class Figure:
    name: str  # the accessible name: what the figure shows, in one sentence
    body: str  # SVG or HTML
    caption: str
    columns: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)

    def table(self) -> str:
        head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in self.rows)
        return f"<table><caption>{html.escape(self.name)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def _repr_html_(self) -> str:
        return (f'<figure class="portalit-diagram" role="group" aria-label="{html.escape(self.name)}" style="margin:0">'
                f"{self.body}<figcaption>{html.escape(self.caption)}</figcaption>"
                f"<details><summary>The same as a table</summary>{self.table()}</details></figure>")


def vector_arithmetic(a: str, b: str, c: str, answer: str | None = None) -> Figure:
    """a : b :: c : ? on GloVe: the b - a offset drawn from a and again from c, in the 2-D plane
    that best fits the words involved (PCA of their unit vectors), with the nearest word to the
    target. Distances in the drawing are approximate; the table gives the true cosines."""
    from . import geometry
    from .models import load_glove

    glove = load_glove()
    words = [w.lower() for w in (a, b, c)]
    rows = [geometry.word_index(w, glove) for w in words]
    target = glove.unit[rows[1]] - glove.unit[rows[0]] + glove.unit[rows[2]]
    if answer is None:
        answer = geometry.analogy(words[1], words[0], words[2], k=1)["results"][0]["word"]
    points = np.vstack([glove.unit[rows], glove.unit[geometry.word_index(answer, glove)], target])
    xy = geometry.pca(points, 2).coords
    labels = [*words, answer, f"{words[1]} - {words[0]} + {words[2]}"]
    cos = [float(glove.unit[geometry.word_index(w, glove)] @ target / np.linalg.norm(target)) for w in labels[:4]]
    px = _to_pixels(xy)
    arrows = [(0, 1, "#1f5fa8"), (2, 4, "#1f5fa8"), (0, 2, "#8a5a00"), (1, 4, "#8a5a00")]
    name = f"Vector arithmetic on GloVe: {words[1]} minus {words[0]} plus {words[2]} lands nearest to {answer}"
    uid = next(_ids)
    svg = [_svg_open(name, "The same offset, drawn twice in blue, takes a to b and c to the target; "
                           "the brown sides close the parallelogram.", uid)]
    svg.append(f'<defs><marker id="arrow-{uid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
               'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>')
    for i, j, colour in arrows:
        dash = ' stroke-dasharray="5 4"' if colour == "#8a5a00" else ""
        svg.append(f'<line x1="{px[i][0]:.1f}" y1="{px[i][1]:.1f}" x2="{px[j][0]:.1f}" y2="{px[j][1]:.1f}" '
                   f'stroke="{colour}" stroke-width="2"{dash} marker-end="url(#arrow-{uid})"/>')
    for k, (x, y) in enumerate(px):
        colour = "#b00020" if k == 3 else "#222"
        svg.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{5 if k < 4 else 3}" fill="{colour}"/>')
        svg.append(f'<text x="{x + 8:.1f}" y="{y - 8:.1f}" font-size="14" fill="{colour}">{html.escape(labels[k])}</text>')
    svg.append("</svg>")
    return Figure(name, "".join(svg),
                  f"{a} : {b} :: {c} : ?  The target {labels[4]} is nearest to '{answer}' (inputs excluded). "
                  "Positions are a 2-D projection of 50-dimensional vectors.",
                  ["point", "x", "y", "cosine with the target"],
                  [[labels[k], round(float(xy[k][0]), 3), round(float(xy[k][1]), 3),
                    round(cos[k], 3) if k < 4 else 1.0] for k in range(5)])


def chat_template(messages: list[dict], model: str = "smollm2-135m", add_generation_prompt: bool = True) -> Figure:
    """The exact text `model` reads for `messages`: its chat template applied, with the template's
    own markers set apart from the words you wrote, and each piece's length in tokens."""
    from .engines import llamacpp

    if not isinstance(messages, list) or not all(isinstance(m, dict) and {"role", "content"} <= set(m) for m in messages):
        raise PortalitError("messages must be a list of {'role': ..., 'content': ...} dicts, "
                            "e.g. [{'role': 'user', 'content': 'Hi'}]")
    text, tokenize = llamacpp.formatted(messages, model, add_generation_prompt)
    pieces = _pieces(text, [m["content"] for m in messages])
    spans = "".join(f'<span style="{"color:#222" if mine else "color:#1f5fa8;font-weight:bold"}">'
                    f"{html.escape(piece)}</span>" for piece, mine in pieces)
    name = f"What {model} reads for {len(messages)} message(s): the chat template's markers around your text"
    body = (f'<pre aria-label="{html.escape(name)}" style="white-space:pre-wrap;border:1px solid #767676;padding:8px">'
            f"{spans}</pre>")
    rows = [["your text" if mine else "template", piece.replace("\n", "\\n"), len(tokenize(piece))]
            for piece, mine in pieces if piece]
    total = len(tokenize(text))
    return Figure(name, body, f"Blue: added by the template. Black: your messages. {total} tokens in all.",
                  ["from", "text", "tokens"], rows)


def two_towers(shared_dim: int = 32, image: str = "picture", text: str = "caption") -> Figure:
    """A two-tower (dual-encoder) model: an image tower and a text tower map into one shared space
    of `shared_dim` numbers, where matched pairs should be close (cosine)."""
    name = f"Two towers: an {image} encoder and a {text} encoder map into one shared space, compared by cosine"
    boxes = [(20, 60, image, "#dbe9f6"), (20, 240, text, "#f6e6cc"),
             (190, 60, "image tower", "#dbe9f6"), (190, 240, "text tower", "#f6e6cc"),
             (370, 150, f"shared space ({shared_dim})", "#e3f1e0")]
    uid = next(_ids)
    svg = [_svg_open(name, "Arrows run from each input through its own tower into the shared space.", uid)]
    svg.append(f'<defs><marker id="arrow-{uid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
               'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#222"/></marker></defs>')
    for x, y, label, colour in boxes:
        svg.append(f'<rect x="{x}" y="{y}" width="150" height="60" rx="8" fill="{colour}" stroke="#222"/>'
                   f'<text x="{x + 75}" y="{y + 35}" text-anchor="middle" font-size="14" fill="#222">'
                   f"{html.escape(label)}</text>")
    for (x1, y1), (x2, y2) in [((170, 90), (190, 90)), ((170, 270), (190, 270)), ((340, 90), (370, 170)),
                               ((340, 270), (370, 190))]:
        svg.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#222" stroke-width="2" '
                   f'marker-end="url(#arrow-{uid})"/>')
    svg.append(f'<text x="445" y="235" text-anchor="middle" font-size="13" fill="#222">cosine({html.escape(image)}, '
               f"{html.escape(text)})</text>")
    svg.append("</svg>")
    vector = f"a vector of {shared_dim} numbers, length 1"
    return Figure(name, "".join(svg),
                  f"Each tower is trained so that a {image} and its own {text} land close together and other "
                  "pairs far apart (a contrastive loss over a batch).",
                  ["input", "encoder", "output"],
                  [[image, "image tower", vector], [text, "text tower", vector],
                   ["both vectors", "cosine similarity", "one number: high for a matched pair"]])


def picture_grid(image, captions: list[str], columns: int, name: str, scale: int = 6) -> Figure:
    """A sheet of small pictures (an (H, W, 3) uint8 array, e.g. twotower.contact_sheet) shown as an
    image with `name` as its text alternative, and each picture's caption in the table, by place."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise PortalitError(f"picture_grid needs an (height, width, 3) uint8 image, got {image.dtype} {image.shape}")
    import base64

    data = base64.b64encode(_png(image)).decode()
    height, width = image.shape[:2]
    body = (f'<img src="data:image/png;base64,{data}" alt="{html.escape(name)}" width="{width * scale}" '
            f'height="{height * scale}" style="image-rendering:pixelated;max-width:100%;height:auto">')
    rows = [[i // columns + 1, i % columns + 1, caption] for i, caption in enumerate(captions)]
    return Figure(name, body, f"{len(captions)} pictures, {columns} to a row; the table gives each one's caption.",
                  ["row", "column", "caption"], rows)


def _png(image) -> bytes:
    """An RGB image as PNG bytes (no imaging library needed: PNG is zlib-compressed rows)."""
    import struct
    import zlib

    height, width = image.shape[:2]
    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(height))  # filter type 0 on each row

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _pieces(text: str, contents: list[str]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, written by the learner?) in order, finding each message's content."""
    out, at = [], 0
    for content in contents:
        where = text.find(content, at) if content else -1
        if where < 0:
            continue
        out += [(text[at:where], False), (content, True)]
        at = where + len(content)
    out.append((text[at:], False))
    return [(p, mine) for p, mine in out if p]


def _svg_open(name: str, description: str, uid: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="title-{uid} desc-{uid}" '
            f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            'style="max-width:100%;height:auto;background:#fff">'
            f'<title id="title-{uid}">{html.escape(name)}</title><desc id="desc-{uid}">{html.escape(description)}</desc>')


def _to_pixels(xy) -> list[tuple[float, float]]:
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    scaled = (xy - lo) / span
    return [(PAD + x * (WIDTH - 3 * PAD), HEIGHT - PAD - y * (HEIGHT - 2 * PAD)) for x, y in scaled]


def _cell(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
