"""Strictly typed values between the trusted grader and a learner's sandbox.

What crosses is data only: None, bools, ints, floats, complex, strings, bytes, lists, tuples,
dicts, sets and numpy arrays or scalars of plain dtypes. Types are checked exactly (a learner's int
subclass with a lying `__eq__` is not an int here) and containers are walked with the base types'
own methods, so encoding never runs learner code and decoding never runs any code. Anything else
stays where it lives: functions become function references the other side can call over the pipe,
other objects opaque handles it can only pass back.

Frames on the pipe: 8 bytes of length, then that many bytes of JSON.
"""
from __future__ import annotations

import base64
import builtins
import json
import math
import os
import struct

MAX_FRAME = 64 * 1024 * 1024  # bytes in one message: a learner cannot make the grader read more
MAX_DEPTH = 64
ARRAY_KINDS = "biufcUS"  # bool, ints, floats, complex, fixed-width strings: never objects
# Learner exceptions of these builtin types are raised as themselves on the trusted side (a test may
# expect a ValueError); any other becomes a LearnerError carrying its name and message.
PASSED_EXCEPTIONS = ("ValueError", "TypeError", "KeyError", "IndexError", "ZeroDivisionError", "AttributeError",
                     "RuntimeError", "NotImplementedError", "AssertionError", "ArithmeticError", "OverflowError",
                     "LookupError", "StopIteration")
EXCEPTIONS = {name: getattr(builtins, name) for name in PASSED_EXCEPTIONS}


class WireError(ValueError):
    """A message that is not what the protocol allows (too big, too deep, a type not allowed)."""


class LearnerError(Exception):
    """An exception raised by learner code whose type is not one of the builtins passed through."""


def encode(value, refer=None, depth: int = 0):
    """`value` as JSON-ready data. `refer(value)` turns what is not data into a reference dict
    (a function or a handle); without it such a value is a WireError."""
    if depth > MAX_DEPTH:
        raise WireError(f"the value is nested more than {MAX_DEPTH} levels deep")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if abs(value) < 2 ** 63 else {"int": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    if kind is complex:
        return {"complex": [encode(value.real), encode(value.imag)]}
    if kind is bytes:
        return {"bytes": base64.b64encode(value).decode()}
    if kind is list:
        return [encode(list.__getitem__(value, i), refer, depth + 1) for i in range(list.__len__(value))]
    if kind is tuple:
        return {"tuple": [encode(tuple.__getitem__(value, i), refer, depth + 1) for i in range(tuple.__len__(value))]}
    if kind is dict:
        return {"dict": [[encode(k, refer, depth + 1), encode(v, refer, depth + 1)] for k, v in dict.items(value)]}
    if kind is set or kind is frozenset:
        items = [encode(item, refer, depth + 1) for item in kind.__iter__(value)]
        return {"set": items, "frozen": kind is frozenset}
    array = _encode_numpy(value, kind)
    if array is not None:
        return array
    if refer is not None:
        return refer(value)
    raise WireError(f"a {type_name(value)} cannot be sent; use numbers, strings, lists, dicts or arrays")


def _encode_numpy(value, kind):
    import sys

    numpy = sys.modules.get("numpy")
    if numpy is None:
        return None
    if kind is numpy.ndarray:
        dtype = numpy.ndarray.__dict__["dtype"].__get__(value)
        if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            return None
        data = numpy.ascontiguousarray(value).tobytes()
        return {"array": {"dtype": dtype.str, "shape": list(value.shape), "data": base64.b64encode(data).decode()}}
    if isinstance(kind, type) and kind.__module__ == "numpy" and issubclass(kind, numpy.generic):
        dtype = numpy.dtype(kind)
        if dtype.kind in ARRAY_KINDS and dtype.fields is None:
            return {"scalar": {"dtype": dtype.str, "data": base64.b64encode(value.tobytes()).decode()}}
    return None


def decode(data, resolve=None, depth: int = 0):
    """The value `data` (from encode) stands for; `resolve(dict)` turns references into objects."""
    if depth > MAX_DEPTH:
        raise WireError(f"the value is nested more than {MAX_DEPTH} levels deep")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [decode(item, resolve, depth + 1) for item in data]
    if type(data) is not dict or len(data) == 0:
        raise WireError(f"not a value: {type(data).__name__}")
    if "tuple" in data:
        return tuple(decode(item, resolve, depth + 1) for item in _list(data["tuple"]))
    if "dict" in data:
        out = {}
        for pair in _list(data["dict"]):
            if type(pair) is not list or len(pair) != 2:
                raise WireError("a dict item must be a [key, value] pair")
            out[decode(pair[0], resolve, depth + 1)] = decode(pair[1], resolve, depth + 1)
        return out
    if "set" in data:
        items = [decode(item, resolve, depth + 1) for item in _list(data["set"])]
        return frozenset(items) if data.get("frozen") is True else set(items)
    if "int" in data:
        return int(_str(data["int"]))
    if "float" in data:
        text = _str(data["float"])
        if text not in ("nan", "inf", "-inf"):
            raise WireError("a special float must be nan, inf or -inf")
        return float(text)
    if "complex" in data:
        parts = _list(data["complex"])
        if len(parts) != 2:
            raise WireError("a complex number has two parts")
        return complex(decode(parts[0], None, depth + 1), decode(parts[1], None, depth + 1))
    if "bytes" in data:
        return base64.b64decode(_str(data["bytes"]), validate=True)
    if "array" in data or "scalar" in data:
        return _decode_numpy(data)
    if resolve is not None:
        return resolve(data)
    raise WireError(f"unknown value tag {sorted(data)[0]!r}")


def _decode_numpy(data):
    import numpy

    spec = data.get("array") or data.get("scalar")
    if type(spec) is not dict:
        raise WireError("an array needs dtype and data")
    dtype = numpy.dtype(_str(spec.get("dtype")))
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise WireError(f"arrays of dtype {dtype} are not allowed")
    raw = base64.b64decode(_str(spec.get("data")), validate=True)
    if "scalar" in data:
        if len(raw) != dtype.itemsize:
            raise WireError("a scalar's data does not match its dtype")
        return numpy.frombuffer(raw, dtype=dtype)[0]
    shape = _list(spec.get("shape"))
    if not all(type(n) is int and n >= 0 for n in shape) or len(shape) > 32:
        raise WireError("an array's shape must be up to 32 whole numbers >= 0")
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise WireError("an array's data does not match its shape and dtype")
    return numpy.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _list(value):
    if type(value) is not list:
        raise WireError("expected a list")
    return value


def _str(value):
    if type(value) is not str:
        raise WireError("expected a string")
    return value


def type_name(value) -> str:
    """The name of `value`'s type, read without running anything the type defines."""
    name = type.__dict__["__name__"].__get__(type(value))
    return name if len(name) <= 60 else name[:57] + "..."


def exception_data(error: BaseException) -> dict:
    """An exception as data: its builtin type's name when it is one we pass through, and its message."""
    kind = type(error)
    name = type.__dict__["__name__"].__get__(kind)
    try:
        message = str(error)
    except BaseException:  # a learner's __str__ that raises
        message = ""
    if kind.__module__ != "builtins" or name not in EXCEPTIONS:
        message = f"{name}: {message}" if message else name
        name = "LearnerError"
    return {"ename": name, "evalue": message[:2000]}


def exception_from(data) -> Exception:
    """The exception to raise on this side for exception_data(); only builtin types or LearnerError."""
    if type(data) is not dict:
        return LearnerError("the learner's code failed")
    name, message = data.get("ename"), data.get("evalue")
    message = message if type(message) is str else ""
    kind = EXCEPTIONS.get(name) if type(name) is str else None
    return kind(message) if kind is not None else LearnerError(message)


def send(fd: int, message: dict) -> None:
    """Writes one frame to `fd`."""
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    if len(body) > MAX_FRAME:
        raise WireError(f"the message is {len(body):,} bytes; the limit is {MAX_FRAME:,}")
    _write_all(fd, struct.pack(">Q", len(body)) + body)


def receive(fd: int) -> dict:
    """Reads one frame from `fd`; EOFError when the other side has gone."""
    (length,) = struct.unpack(">Q", _read_exactly(fd, 8))
    if length > MAX_FRAME:
        raise WireError(f"a message of {length:,} bytes is over the limit of {MAX_FRAME:,}")
    try:
        message = json.loads(_read_exactly(fd, length))
    except (ValueError, RecursionError) as e:
        raise WireError(f"the message is not valid JSON ({type(e).__name__})") from None
    if type(message) is not dict:
        raise WireError("a message must be a JSON object")
    return message


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, n: int) -> bytes:
    parts, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)
