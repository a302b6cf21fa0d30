"""Grader's data as JSON text: its data classes and enums named by their class, and the
values JSON has no form for (tuples, sets, fractions, numpy's numbers) as one-key objects;
read back by building grader's data classes and plain values, nothing else."""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import importlib
import json
import logging
import math
import struct
import sys
from fractions import Fraction
from typing import Any


def packed(value: Any) -> str:
    """A verdict, report or summary row as the verdict store keeps it: JSON text (grader's data
    classes and enums named by their class), read back by :func:`unpacked`."""
    return json.dumps(_plain(value), separators=(",", ":"), allow_nan=False)


def unpacked(text: str | bytes) -> Any:
    """The value :func:`packed` wrote, or None when it cannot be read back (another grader
    wrote it, or it names a class that is not grader's data class or enum)."""
    try:
        return read_back(text)
    except UNREADABLE:
        return None


UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, ImportError, RecursionError)


def read_back(text: str | bytes) -> Any:
    """The value :func:`packed` wrote; one of :data:`UNREADABLE` when it cannot be read back."""
    return json.loads(text, object_hook=_built)


_BIG_INT_BITS = 12_000  # past about 3,600 digits JSON's readers refuse an integer: kept in hex
# A tuple of this many floats or more (a plot's coordinates) is kept as its IEEE 754 bytes: read
# back bit for bit (-0.0, infinities and NaN included) and several times faster than decimal text.
_PACKED_FLOATS = 8


def _plain(value: Any) -> Any:  # noqa: PLR0911 (one case a type)
    """``value`` as JSON's plain values; what JSON has no value for is a one-key object."""
    kind = type(value)
    if value is None or kind is str or kind is bool:
        return value
    if kind is int:
        return value if value.bit_length() < _BIG_INT_BITS else {"$int": hex(value)}
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if kind is list:
        return [_plain(item) for item in value]
    if kind is dict:
        if all(type(key) is str and not key.startswith("$") for key in value):
            return {key: _plain(item) for key, item in value.items()}
        return {"$dict": [[_plain(key), _plain(item)] for key, item in value.items()]}
    if kind is tuple:
        if len(value) >= _PACKED_FLOATS and all(type(item) is float for item in value):
            return {"$floats": base64.b64encode(struct.pack(f"<{len(value)}d", *value)).decode()}
        return {"$tuple": [_plain(item) for item in value]}
    if isinstance(value, enum.Enum):
        return {"$enum": _class_name(kind), "name": value.name}
    if dataclasses.is_dataclass(value):
        fields = (
            vars(value)
            if hasattr(value, "__dict__")
            else {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
        )
        return {"$class": _class_name(kind), "fields": {name: _plain(item) for name, item in fields.items()}}
    return _other(value)


def _other(value: Any) -> Any:
    """Sets, complex numbers, fractions, bytes and numpy's values, as plain values."""
    if isinstance(value, set | frozenset):
        return {"$set" if type(value) is set else "$frozenset": [_plain(item) for item in value]}
    if type(value) is complex:
        return {"$complex": [_plain(value.real), _plain(value.imag)]}
    if type(value) is Fraction:
        return {"$fraction": [_plain(value.numerator), _plain(value.denominator)]}
    if type(value) is bytes:
        return {"$bytes": base64.b64encode(value).decode()}
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray) and value.dtype.kind in "biufc":
        return {
            "$array": value.dtype.str,
            "shape": list(value.shape),
            "items": _plain(value.ravel().tolist()),
        }
    if numpy is not None and isinstance(value, numpy.generic) and value.dtype.kind in "biufc":
        return {"$scalar": value.dtype.str, "item": _plain(value.item())}
    # Nothing grader stores; written so it reads back as nothing (decided again), never wrongly.
    logging.getLogger("grader").warning(
        "a value of type %s is stored as unreadable", _class_name(type(value))
    )
    return {"$unreadable": type(value).__qualname__}


def _class_name(kind: type) -> str:
    return f"{kind.__module__}:{kind.__qualname__}"


@functools.cache
def _grader_class(name: str, enumeration: bool) -> Any:
    """Grader's data class (or enum) named so; anything else raises (looked up once a name:
    a class of a store's thousands of entries is found in a dictionary after its first)."""
    module, _, qualname = name.partition(":")
    if module != "grader" and not module.startswith("grader."):
        raise TypeError(f"{name} is not stored by grader")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    wanted = issubclass(found, enum.Enum) if enumeration else dataclasses.is_dataclass(found)
    if not isinstance(found, type) or not wanted:
        raise TypeError(f"{name} is not stored by grader")
    return found


@functools.cache
def _has_dict(kind: type) -> bool:
    """Do the class's instances keep their fields in a ``__dict__`` (no ``__slots__``)?"""
    return hasattr(object.__new__(kind), "__dict__")


# What a store's tags stand for once looked up (a store of 500 sheets holds some 40,000 objects
# of a few dozen classes and enum members): a class's (class, keeps a __dict__), an enum member.
_CLASSES: dict[str, tuple[type, bool]] = {}
_MEMBERS: dict[tuple[str, str], enum.Enum] = {}


def _built(plain: dict[str, Any]) -> Any:
    """The value a one-key object of :func:`_plain` stands for (a plain object as it is)."""
    for tag in plain:  # the first key alone says: a plain object's never starts with "$"
        if tag[:1] != "$":
            return plain
        break
    else:
        return plain
    if tag == "$enum":
        member = _MEMBERS.get((plain[tag], plain["name"]))
        if member is None:
            member = _MEMBERS[(plain[tag], plain["name"])] = _grader_class(plain[tag], True)[plain["name"]]
        return member
    if tag == "$tuple":
        return tuple(plain[tag])
    if tag == "$class":
        found = _CLASSES.get(plain[tag])
        if found is None:
            kind = _grader_class(plain[tag], False)
            found = _CLASSES[plain[tag]] = (kind, _has_dict(kind))
        instance: Any = object.__new__(found[0])
        if found[1]:  # frozen or not, the fields are set as object.__setattr__ would
            instance.__dict__.update(plain["fields"])
        else:
            for name, item in plain["fields"].items():
                object.__setattr__(instance, name, item)
        return instance
    return _container(tag, plain)


def _container(tag: str, plain: dict[str, Any]) -> Any:
    content = plain[tag]
    if tag == "$floats":
        raw = base64.b64decode(content, validate=True)
        if len(raw) % 8:
            raise ValueError("$floats holds a partial float")
        return struct.unpack(f"<{len(raw) // 8}d", raw)
    if tag == "$dict":
        return {_hashable(key): item for key, item in content}
    if tag in ("$set", "$frozenset"):
        return (set if tag == "$set" else frozenset)(_hashable(item) for item in content)
    return _number(tag, plain)


def _number(tag: str, plain: dict[str, Any]) -> Any:
    content = plain[tag]
    if tag == "$int":
        return int(content, 16)
    if tag == "$float":
        return float(content)
    if tag == "$complex":
        return complex(*content)
    if tag == "$fraction":
        return Fraction(*content)
    if tag == "$bytes":
        return base64.b64decode(content)
    import numpy

    if tag == "$array":
        return numpy.array(plain["items"], dtype=numpy.dtype(content)).reshape(plain["shape"])
    if tag == "$scalar":
        return numpy.dtype(content).type(plain["item"])
    raise TypeError(f"{tag} is not stored by grader")


def _hashable(value: Any) -> Any:
    return tuple(_hashable(item) for item in value) if type(value) is list else value
