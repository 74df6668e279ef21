"""Feedback that learners see: a failing hidden test shows its message, never its code."""
import nbformat

from portalit.autograder import feedback


def test_short_hidden_test_errors_keep_only_the_message():
    cell = nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nassert secret == 42\n### END HIDDEN TESTS")
    cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailed", evalue="the answer is not the expected value",
                                           traceback=["----> 3 assert secret == 42", "CheckFailed: ..."])]
    visible = nbformat.v4.new_code_cell("assert x == 1")
    visible.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=["----> 1 assert x == 1"])]
    pp = feedback.ShortHiddenTestErrors()
    assert pp.enabled  # nbconvert skips preprocessors that are not enabled
    pp.preprocess_cell(cell, {}, 0)
    pp.preprocess_cell(visible, {}, 1)
    assert cell.outputs[0].traceback == ["CheckFailed: the answer is not the expected value"]
    assert visible.outputs[0].traceback == ["----> 1 assert x == 1"]  # visible tests keep their traceback


def test_feedback_pages_keep_their_text_and_lose_what_runs_or_loads():
    page = ('<!DOCTYPE html><html><head><script src="https://cdn.example/x.js"></script>'
            '<style>@import url(http://evil/a.css); p{color:red;background:url(http://e/x.png)}</style></head>'
            '<body><p onclick="alert(1)" style="background:url(http://e/y)">a &lt; b</p><img src=x onerror=alert(1)>'
            '<img src="data:image/png;base64,AAAA"><img src="data:image/svg+xml;base64,PHN2Zz4=">'
            '<a href="javascript:alert(1)">j</a><a href="https://example.org/doc">doc</a>'
            '<svg><script>alert(2)</script><use href="http://e/#x"/></svg><iframe src="http://e"></iframe>'
            '<form action="http://e"><input name=q></form></body></html>')
    clean = feedback.sanitise_html(page)
    for bad in ("<script", "onclick", "onerror", "url(", "@import", "javascript:", "<iframe", "<form", "svg+xml",
                'href="http://e'):
        assert bad not in clean, bad
    assert "a &lt; b" in clean and "p{color:red;background:}" in clean
    assert '<img src="data:image/png;base64,AAAA">' in clean
    assert '<a href="https://example.org/doc" rel="noopener noreferrer nofollow">doc</a>' in clean


def test_feedback_pages_are_size_capped():
    clean = feedback.sanitise_html("<p>" + "x" * (feedback.MAX_FEEDBACK_BYTES + 10) + "</p>")
    assert len(clean.encode()) < feedback.MAX_FEEDBACK_BYTES + 200 and "cut here" in clean
