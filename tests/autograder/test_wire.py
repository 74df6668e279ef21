"""wire.py: only data crosses between a sandbox and the grader, and nothing read from a sandbox runs."""
import os

import numpy as np
import pytest

from portalit.autograder import wire


def roundtrip(value):
    return wire.decode(wire.encode(value))


def test_data_comes_back_equal_and_of_the_same_types():
    value = {"a": [1, 2.5, (3, "x"), None, True], 5: np.arange(6.0).reshape(2, 3), "s": {1, 2},
             "n": np.float32(2.5), "b": b"\x00\xff", "big": 10 ** 40, "c": 1 + 2j, "f": frozenset({"q"})}
    back = roundtrip(value)
    assert back.keys() == value.keys() and back["a"] == value["a"] and back["s"] == {1, 2}
    assert back[5].dtype == np.float64 and np.array_equal(back[5], value[5])
    assert type(back["n"]) is np.float32 and back["big"] == 10 ** 40 and back["f"] == frozenset({"q"})
    assert np.isnan(roundtrip(float("nan"))) and roundtrip(float("-inf")) == float("-inf")


def test_objects_that_could_lie_do_not_cross_as_data():
    class Liar(int):
        def __eq__(self, other):
            return True

    class AlwaysList(list):
        pass

    for liar in (Liar(3), AlwaysList([1]), np.array([object()]), object()):
        with pytest.raises(wire.WireError):
            wire.encode(liar)
    refs = []
    assert wire.encode(Liar(3), refer=lambda v: refs.append(v) or {"handle": 1}) == {"handle": 1}


@pytest.mark.parametrize("data, message", [
    ({"array": {"dtype": "|O", "shape": [1], "data": ""}}, "not allowed"),
    ({"array": {"dtype": "<f8", "shape": [10 ** 9], "data": "AAAAAAAAAAA="}}, "does not match"),
    ({"array": {"dtype": "<f8", "shape": [-1], "data": ""}}, "shape"),
    ({"float": "1e999999"}, "nan, inf"),
    ({"pickle": "gASV"}, "unknown value tag"),
    (__import__("functools").reduce(lambda inner, _: [inner], range(wire.MAX_DEPTH + 5), []), "deep"),
])
def test_what_a_sandbox_sends_is_checked_before_anything_is_built(data, message):
    with pytest.raises(wire.WireError, match=message):
        wire.decode(data)


def test_frames_are_size_checked_before_they_are_read():
    read, write = os.pipe()
    os.write(write, (wire.MAX_FRAME + 1).to_bytes(8, "big"))
    with pytest.raises(wire.WireError, match="over the limit"):
        wire.receive(read)
    os.write(write, (5).to_bytes(8, "big") + b"[1,2]")
    with pytest.raises(wire.WireError, match="JSON object"):
        wire.receive(read)
    os.close(write)
    with pytest.raises(EOFError):
        wire.receive(read)
    os.close(read)


def test_learner_exceptions_come_back_as_builtins_or_learner_errors():
    class Sneaky(ValueError):
        pass

    assert type(wire.exception_from(wire.exception_data(ValueError("no JSON")))) is ValueError
    sneaky = wire.exception_from(wire.exception_data(Sneaky("x")))
    assert type(sneaky) is wire.LearnerError and "Sneaky" in str(sneaky)
    assert type(wire.exception_from({"ename": "SystemExit", "evalue": "bye"})) is wire.LearnerError
