"""Prompt-writing parts grade the task, not one wording: for each, at least five differently worded
correct prompts pass the master's whole test cell (visible and hidden tests, the grading model at
temperature 0) and at least five wrong ones fail it.

The correct prompts are what a learner could write after the lesson: plain questions, a role,
Q/A framing, an example of the answer. Some natural wordings do fail on the 135M grading model
("What is the capital of France?" drifts into French): that sensitivity is what ps01 Part 1
teaches, and its text says so, so those are not listed as correct here.
"""
from __future__ import annotations

import nbformat
import pytest

from portalit import grading

from ..conftest import ROOT

CAPITAL = {
    "right": [
        "Which city is the capital of {c}?",
        "Name the capital city of {c}.",
        "What is the capital city of {c}? Answer with the city name only.",
        "You are a geography expert. Tell me the capital of {c} in one short sentence.",
        "Q: What is the capital city of {c}?\nA:",
        "Please tell me the capital of {c}.",
    ],
    "wrong": [
        "Which is the largest river in {c}?",
        "How many people live in {c}?",
        "Write a long essay about the history of {c}.",
        "What language do people speak in {c}?",
        "Name a famous dish from {c}.",
    ],
}
TOKEN = {
    "right": [
        "Explain in one sentence what a token is for a language model. A token is a piece of text.",
        "In one sentence, what is a token in a language model?",
        "Define the word token as used for language models, in one short sentence.",
        "Explain to a beginner, in under 30 words, what a token is when a language model reads text.",
        "Q: What is a token for a language model? Answer in one sentence.\nA:",
    ],
    "wrong": [
        "Describe today's weather in one sentence.",
        "What is a crypto token on a blockchain? One sentence.",
        "Write a poem about the sea.",
        "In one sentence, what does temperature do in a language model?",
        "What is a bus token used for?",
    ],
}
PERSON = {
    "right": [
        'Write a JSON object with the fields "name" (text) and "age" (a number) describing a fictional person. '
        "Reply with JSON only.",
        'Invent a person. Reply only with JSON like {"name": "Ana", "age": 31}.',
        'JSON only: a fictional person with "name" and "age".',
        'Create a fictional person. Respond with a JSON object containing "name" (a string) and "age" (an integer). '
        "No other text.",
        "Make up a person and describe them in JSON with two fields: name and age.",
        'Invent a character for a story and reply with a JSON object: {"name": <string>, "age": <number>}.',
    ],
    "wrong": [
        "Tell me about a fictional person named Sam.",
        'Write a JSON object with the fields "city" and "country".',
        "List five names of people.",
        'Write a JSON object with the fields "name" and "birthday" for a fictional person.',
        "Write a short story about a fictional person.",
        'Write a JSON object describing a pet with the fields "species" and "colour".',
    ],
}


def _test_cell(assignment: str, grade_id: str) -> str:
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _passes(source: str, **answer) -> bool:
    """The master's test cell, hidden tests included, run on this answer as the grader runs it."""
    try:
        exec(compile(source, "<test>", "exec"), {"grading": grading, "print": lambda *a, **k: None, **answer})
    except grading.CheckFailed:
        return False
    return True


def _capital_prompt(template):
    return lambda country: template.format(c=country)


CASES = [("ps01", "test_capital_prompt", "capital_prompt", CAPITAL, _capital_prompt),
         ("ps01", "test_token_prompt", "TOKEN_PROMPT", TOKEN, str),
         ("ps02", "test_person_prompt", "PERSON_PROMPT", PERSON, str)]


@pytest.mark.slow
@pytest.mark.parametrize("assignment, grade_id, name, prompts, as_answer", CASES, ids=[c[1] for c in CASES])
def test_several_right_prompts_pass_and_wrong_ones_fail(assignment, grade_id, name, prompts, as_answer):
    assert len(prompts["right"]) >= 5 and len(prompts["wrong"]) >= 5
    source = _test_cell(assignment, grade_id)
    outcome = {p: _passes(source, **{name: as_answer(p)}) for p in prompts["right"] + prompts["wrong"]}
    assert [p for p in prompts["right"] if not outcome[p]] == [], "right prompts that fail"
    assert [p for p in prompts["wrong"] if outcome[p]] == [], "wrong prompts that pass"
