"""The instructors' autograder: `portalit grade ASSIGNMENT`, nbgrader underneath, cut along its parts.

    run.py          grade_assignment(): the whole run, and its report (render)
    course.py       the course folder and its nbgrader config; generate_release()
    gradebook.py    the course gradebook: template, merge, export of grades.csv
    records.py      what was graded already (fingerprints and markers), so reruns skip it
    pool.py         worker processes side by side, each with an overall limit
    forkserver.py   one process that imports the heavy libraries once and forks the workers
    worker.py       inside a worker: nbgrader's Autograde and GenerateFeedback on one submission
    submission.py   a submission copied and put right (unreadable, deleted or duplicated cells)
    executor.py     runs a submission for nbgrader: learner cells in the sandbox, tests here
    sandbox.py      the sandbox: namespaces, a mount view, limits, a throwaway identity
    runner.py       inside the sandbox: runs cells, answers for values and calls
    wire.py         strictly typed data between the two, and nothing else
    feedback.py     what learners see: no hidden test code, no traceback quoting it

Importing this package is cheap; nbgrader loads when a run starts.
"""
from .course import Course, generate_release
from .run import grade_assignment, render

__all__ = ["Course", "generate_release", "grade_assignment", "render"]
