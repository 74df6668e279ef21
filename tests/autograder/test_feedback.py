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
