"""The learner's help in the lesson text: time and prerequisites, the glossary, worked answers.

Reads the notebooks' JSON only (nbformat); nothing is executed, so the whole file runs in about a second.
"""
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "lessons"
LESSONS = sorted(LESSONS_DIR.glob("[0-9][0-9]_*.ipynb"))
GLOSSARY = LESSONS_DIR / "GLOSSARY.md"
TIME_LINE = re.compile(r"^\*\*Time:\*\* about \d+ minutes \(reading and running\)\. \*\*You need:\*\* \S")
ENTRY = re.compile(r"^- \*\*(?P<term>[^*]+)\*\* — (?P<definition>.+) \((?P<where>lessons? [^()]+)\)$")


def notebook(path: Path):
    return nbformat.read(path, as_version=4)


def text_of(path: Path) -> str:
    """Every cell's source, lower-cased: what a learner can read in the lesson."""
    return "\n".join(cell.source for cell in notebook(path).cells).lower()


def lesson_numbers() -> dict[str, Path]:
    return {path.name[:2]: path for path in LESSONS}


def glossary_entries() -> list[dict]:
    """One dict per entry (term, definition, lessons), continuation lines joined to their entry."""
    entries, current = [], None
    for line in GLOSSARY.read_text().splitlines():
        if line.startswith("- "):
            current = [line]
            entries.append(current)
        elif line.startswith("  ") and current is not None:
            current.append(line.strip())
        else:
            current = None
    parsed = []
    for lines in entries:
        joined = " ".join(lines)
        match = ENTRY.match(joined)
        assert match, f"glossary entry not in the form '- **Term** — definition (lesson NN)': {joined[:100]!r}"
        parsed.append({"term": match["term"], "definition": match["definition"],
                       "lessons": re.findall(r"\b\d{2}\b", match["where"])})
    return parsed


def forms(term: str) -> list[str]:
    """The names a glossary term goes by: 'Held-out set / test set' -> ['held-out set', 'test set']."""
    return [re.sub(r"\s*\([^)]*\)", "", name).strip().lower() for name in term.split(" / ")]


def test_the_course_has_lessons_00_to_09():
    assert [path.name[:2] for path in LESSONS] == [f"{n:02d}" for n in range(10)]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name[:2])
def test_first_cell_states_time_and_prerequisites_under_the_title(path):
    first = notebook(path).cells[0]
    assert first.cell_type == "markdown"
    lines = [line for line in first.source.splitlines() if line.strip()]
    assert lines[0].startswith("# "), "the first cell should open with the lesson's title"
    assert TIME_LINE.match(lines[1]), (
        f"{path.name}: the line under the title should read '**Time:** about N minutes (reading and running). "
        f"**You need:** ...', not {lines[1][:80]!r}")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name[:2])
def test_first_cell_links_the_glossary(path):
    links = re.findall(r"\]\(([^)]*GLOSSARY\.md)\)", notebook(path).cells[0].source)
    assert links, f"{path.name}: the first cell should link the glossary, e.g. [glossary](GLOSSARY.md)"
    for link in links:
        assert (path.parent / link).is_file(), f"{path.name} links {link}, which does not exist"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name[:2])
def test_check_yourself_is_followed_by_worked_answers(path):
    cells = [cell for cell in notebook(path).cells if cell.cell_type == "markdown"]
    starts = [i for i, cell in enumerate(cells) if "## Check yourself" in cell.source]
    if not starts:
        pytest.skip(f"{path.name} has no 'Check yourself' section")
    section = "\n".join(cell.source for cell in cells[starts[0]:])
    section = section[section.index("## Check yourself"):]
    opening = section.find("<details><summary>Worked answers</summary>")
    assert opening > 0, f"{path.name}: no <details><summary>Worked answers</summary> block after 'Check yourself'"
    closing = section.find("</details>", opening)
    assert closing > opening, f"{path.name}: the worked answers' <details> block is not closed"
    # Markdown inside an HTML block renders only after an empty line.
    assert section[opening:].startswith("<details><summary>Worked answers</summary>\n\n"), \
        f"{path.name}: leave an empty line after <summary>, or the answers' markdown will not render"
    bullets = [line for line in section[:opening].splitlines() if line.startswith("- ")]
    answers = [line for line in section[opening:closing].splitlines() if re.match(r"(\d+\.|-) ", line)]
    assert bullets, f"{path.name}: 'Check yourself' lists nothing to check"
    assert len(answers) >= len(bullets), (
        f"{path.name}: {len(bullets)} 'Check yourself' bullets but {len(answers)} worked answers (one numbered or bulleted answer each)")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name[:2])
def test_check_yourself_previews_a_problem_set_that_exists(path):
    source = "\n".join(cell.source for cell in notebook(path).cells if cell.cell_type == "markdown")
    for number in re.findall(r"## Check yourself \(preview of ps(\d{2})\)", source):
        assert (ROOT / "exercises" / f"ps{number}").is_dir(), f"{path.name} previews ps{number}, which is not released"


def test_glossary_entries_are_alphabetical():
    terms = [entry["term"].lower() for entry in glossary_entries()]
    assert len(terms) >= 40
    assert terms == sorted(terms), "glossary entries should be in alphabetical order"
    assert len(set(terms)) == len(terms), "a glossary term is listed twice"


def test_every_glossary_entry_names_lessons_that_exist_and_use_the_term():
    lessons = lesson_numbers()
    texts = {number: text_of(path) for number, path in lessons.items()}
    for entry in glossary_entries():
        assert entry["definition"].strip(), f"{entry['term']}: empty definition"
        assert entry["lessons"], f"{entry['term']}: names no lesson"
        missing = [n for n in entry["lessons"] if n not in lessons]
        assert not missing, f"{entry['term']}: names lesson(s) {missing}, which do not exist"
        found = [n for n in entry["lessons"] if any(form in texts[n] for form in forms(entry["term"]))]
        assert found, (f"{entry['term']!r} appears in none of the lessons it names ({', '.join(entry['lessons'])}); "
                       "define only terms the lessons use, and say where")


def test_readme_links_the_glossary():
    assert "(lessons/GLOSSARY.md)" in (ROOT / "README.md").read_text()
