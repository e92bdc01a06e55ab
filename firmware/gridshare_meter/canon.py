"""Canonical bytes of a signed message, identical on MicroPython and CPython.

The encoding is the JSON subset CPython produces with
``json.dumps(obj, sort_keys=True, separators=(",", ":"))`` for objects made only of dicts
with string keys, lists, ints, booleans, None and strings of printable ASCII without quote
or backslash. Floats are refused: energy, power and time are integers in every message.
"""

PREFIX = b"gridshare-meter/1\n"
MAX_DEPTH = 8  # commands are flat and reports three levels deep; deeper would exhaust the stack


def _text(s):
    for ch in s:
        o = ord(ch)
        if o < 0x20 or o > 0x7E or ch == '"' or ch == "\\":
            raise ValueError("text must be printable ASCII without quote or backslash")
    return '"' + s + '"'


def _encode(obj, out, depth=0):
    if depth > MAX_DEPTH:
        raise ValueError("nested deeper than " + str(MAX_DEPTH) + " levels")
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(str(obj))
    elif isinstance(obj, str):
        out.append(_text(obj))
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        first = True
        for item in obj:
            if not first:
                out.append(",")
            first = False
            _encode(item, out, depth + 1)
        out.append("]")
    elif isinstance(obj, dict):
        out.append("{")
        first = True
        for key in sorted(obj):
            if not isinstance(key, str):
                raise ValueError("keys must be text")
            if not first:
                out.append(",")
            first = False
            out.append(_text(key))
            out.append(":")
            _encode(obj[key], out, depth + 1)
        out.append("}")
    else:
        raise ValueError("cannot sign a value of this type")


def encode(obj):
    """Canonical UTF-8 bytes of obj (see module docstring for the rules)."""
    out = []
    _encode(obj, out)
    return "".join(out).encode()


def signing_bytes(msg):
    """Bytes the HMAC covers: a version prefix and the message without its `sig` field."""
    body = {}
    for key in msg:
        if key != "sig":
            body[key] = msg[key]
    return PREFIX + encode(body)
