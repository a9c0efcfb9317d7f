"""Plain data across the sandbox boundary: tagged JSON, never pickle.

Shared by both sides (the runner inside the sandbox gets this file's source prepended, so it
must stay stdlib-only and free of `from __future__` imports). Plain values are None, bool,
int, float, str, bytes, bytearray, complex, list, tuple, dict, set, frozenset and the builtin types
(by name), nested to a bounded depth; JSON carries None/bool/str/list and small ints/finite floats as themselves,
everything else as a one-key object ({"t": [...]} for a tuple and so on). An object that is not
plain data (a class instance, a generator) crosses as a reference {"ref": n} to an object that
stays on the side that owns it. `from_wire` rejects anything outside this grammar.
"""

import builtins
import json
import math

MAX_DEPTH = 200
_SMALL_INT = 1 << 53
# At most this many different values in one message may share a hash. Distinct values with one hash make
# every set or dict built from them quadratic (ints k * (2**61 - 1), tuples solved for a target hash), and
# the tests that build them (``set(f(x)) == {...}``) run in the harness, where the deadline cannot stop a
# single C-level set construction: 30,000 such ints took 8 s there, a message's worth would take hours.
MAX_SAME_HASH = 8
# Hashing a tuple walks all of it (CPython keeps no tuple hashes), so hashing every nested value costs the sum
# of their depths: 5,000 chains of 199 nested tuples (8 MB of JSON) took 12 s. Values this deep and this many
# are no benchmark's output.
MAX_HASH_WORK = 16_000_000
_HASH_MODULUS = (1 << 61) - 1  # sys.hash_info.modulus: an int smaller than this in magnitude hashes to itself
_BUILTIN_KINDS = (type,)


class WireError(ValueError):
    """A message that is not valid plain data (or too large, or too deep)."""


def to_wire(value, other, depth=0):
    """`value` as JSON-ready data; `other(obj, depth)` encodes an object that is not plain data (as a
    reference, or after converting it), or raises WireError where such objects may not cross."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if -_SMALL_INT < value < _SMALL_INT else {"i": format(value, "x")}
    if kind is float:
        return value if math.isfinite(value) else {"f": repr(value)}
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply to send")
    depth += 1
    if kind is list:
        return [to_wire(item, other, depth) for item in value]
    if kind is tuple:
        return {"t": [to_wire(item, other, depth) for item in value]}
    if kind is dict:
        return {"d": [[to_wire(k, other, depth), to_wire(v, other, depth)] for k, v in value.items()]}
    if kind is set or kind is frozenset:
        return {"s" if kind is set else "z": [to_wire(item, other, depth) for item in value]}
    if kind is bytes or kind is bytearray:
        return {"b" if kind is bytes else "y": value.hex()}
    if kind is complex:
        return {"c": [to_wire(value.real, other, depth), to_wire(value.imag, other, depth)]}
    name = getattr(value, "__name__", None)
    if type(name) is str and getattr(builtins, name, None) is value and kind in _BUILTIN_KINDS:
        return {"bi": name}  # e.g. MBPP 533 passes the type `int`: the receiver uses its own builtin
    return other(value, depth)


def structure_count(raw):
    """An upper bound on how many values the JSON text `raw` holds: its brackets, braces and commas (those in
    strings counted too). Parsing costs the harness memory per value, not per byte: 60 MB of ``[[],[],...]``
    became 3 GB and a minute of decoding there, so a reply is measured by this before it is parsed."""
    return raw.count(b"[") + raw.count(b"{") + raw.count(b",")


def check_hash_spread(value):
    """Raise WireError when more than MAX_SAME_HASH different hashable values anywhere in `value` share one
    hash (see MAX_SAME_HASH), or when hashing every nested value would take more than MAX_HASH_WORK steps.
    Returns the number of values in `value` (itself and everything nested in it)."""
    items, stack, work = [], [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        items.append(item)
        work += depth
        kind = type(item)
        if kind is list or kind is tuple or kind is set or kind is frozenset:
            stack.extend((member, depth + 1) for member in item)
        elif kind is dict:
            stack.extend((key, depth + 1) for key in item)
            stack.extend((member, depth + 1) for member in item.values())
    if work > MAX_HASH_WORK:
        raise WireError(f"a value nested too deeply to check ({work} steps to hash its parts)")
    _check_hashes(items)
    return len(items)


def _check_hashes(items):
    """Ints of magnitude below 2**61 - 1 are skipped (each hashes to itself); equal values count once; a
    flood is cut off after MAX_SAME_HASH comparisons per hash."""
    groups = {}
    for item in items:
        kind = type(item)
        if item is None or kind is bool or (kind is int and -_HASH_MODULUS < item < _HASH_MODULUS):
            continue
        try:
            key = hash(item)
        except TypeError:  # a list, or a tuple holding one
            continue
        same = groups.setdefault(key, [])
        if not any(other == item for other in same):
            same.append(item)
            if len(same) > MAX_SAME_HASH:
                raise WireError(f"more than {MAX_SAME_HASH} different values share one hash (a collision flood)")


def _items(payload, from_ref, depth):
    if type(payload) is not list:
        raise WireError("container payload must be a list")
    return [from_wire(item, from_ref, depth) for item in payload]


def _number(payload, kind):
    if type(payload) is not str or len(payload) > 100_000:
        raise WireError(f"bad {kind} payload")
    try:
        if kind == "int":
            return int(payload, 16)
        if payload not in ("nan", "inf", "-inf"):
            raise WireError("only nan/inf floats are tagged")
        return float(payload)
    except ValueError as exc:
        raise WireError(f"bad {kind} payload") from exc


def from_wire(data, from_ref, depth=0):
    """The value `data` (parsed JSON) stands for; strict: anything outside the grammar is a WireError."""
    kind = type(data)
    if data is None or kind is bool or kind is str or kind is int or kind is float:
        return data
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    depth += 1
    if kind is list:
        return [from_wire(item, from_ref, depth) for item in data]
    if kind is not dict or len(data) != 1:
        raise WireError(f"unexpected {kind.__name__} in a message")
    ((tag, payload),) = data.items()
    try:
        if tag == "t":
            return tuple(_items(payload, from_ref, depth))
        if tag == "d":
            pairs = _items(payload, from_ref, depth)
            if any(type(p) is not list or len(p) != 2 for p in pairs):
                raise WireError("dict payload must be [key, value] pairs")
            _check_hashes([k for k, _ in pairs])
            return {k: v for k, v in pairs}
        if tag in ("s", "z"):
            members = _items(payload, from_ref, depth)
            _check_hashes(members)
            return set(members) if tag == "s" else frozenset(members)
        if tag in ("b", "y"):
            if type(payload) is not str:
                raise WireError("bytes payload must be hex text")
            raw = bytes.fromhex(payload)
            return raw if tag == "b" else bytearray(raw)
        if tag == "i":
            return _number(payload, "int")
        if tag == "f":
            return _number(payload, "float")
        if tag == "c":
            parts = _items(payload, from_ref, depth)
            if len(parts) != 2 or any(type(p) not in (int, float) for p in parts):
                raise WireError("complex payload must be two numbers")
            return complex(parts[0], parts[1])
        if tag == "bi":
            found = getattr(builtins, payload, None) if type(payload) is str else None
            if type(found) not in _BUILTIN_KINDS or payload.startswith("_"):
                raise WireError("unknown builtin")
            return found
        if tag == "ref":
            if type(payload) is not int or payload < 0:
                raise WireError("bad reference")
            return from_ref(payload)
    except TypeError as exc:  # e.g. an unhashable set member or dict key
        raise WireError(f"bad {tag!r} payload: {exc}") from exc
    except ValueError as exc:
        raise WireError(f"bad {tag!r} payload: {exc}") from exc
    raise WireError(f"unknown tag {tag!r}")


def _no_objects(value, depth=0):
    raise WireError(f"a {type(value).__name__} is not plain data")


def plain_to_json(value):
    """Plain data only (no references) as JSON-ready data that keeps tuples, sets and big ints."""
    return to_wire(value, _no_objects)


def plain_from_json(data):
    return from_wire(data, _no_objects)


def dumps(message):
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode()


def loads(raw):
    """Parse one message; JSON's NaN/Infinity literals are refused (floats that need them are tagged)."""
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"malformed message: {str(exc)[:200]}") from exc


def _refuse_constant(name):
    raise WireError(f"JSON constant {name} is not allowed")
