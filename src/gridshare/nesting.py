"""How deep a JSON document nests, measured without parsing it.

py-evm and py_ecc raise Python's recursion limit to 100,000 when they are imported, so the C
JSON scanner no longer stops a deeply nested document with RecursionError: 100,000 `[`
overflow the C stack and the process dies. Whatever parses JSON from outside (request bodies,
meters' answers) measures it here first.
"""

from __future__ import annotations

import json

import numpy as np

_QUOTE, _OPEN_ARRAY, _OPEN_OBJECT, _CLOSE_ARRAY, _CLOSE_OBJECT = b'"[{]}'
_CHUNK = 1 << 20  # bytes looked at a time: a few MB of numpy arrays, whatever the body size


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in `body`, read as `json.loads` would read it.

    Exact for valid JSON in any encoding `json.loads` accepts. For invalid JSON it counts
    at least the nesting of the part before the first error, which is all a parser reads.
    Linear time, in C loops (bytes methods and numpy), never a Python loop over the bytes.
    """
    encoding = json.detect_encoding(body)
    if encoding != "utf-8":  # UTF-16/32 or a BOM: in UTF-8 a quote or bracket byte is that char
        try:
            body = body.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
        except UnicodeError:
            return 0  # json.loads cannot decode it either, so never parses it
    # Escapes go first: a run of backslashes pairs off from the left, then a lone one escapes
    # the quote after it. Every quote left opens or closes a string, so a byte is inside a
    # string when an odd number of quotes came before it (an unterminated string runs to the
    # end: a parser stops there). Brackets inside strings are not nesting.
    data = np.frombuffer(body.replace(b"\\\\", b"").replace(b'\\"', b""), dtype=np.uint8)
    depth = deepest = in_string = 0
    for start in range(0, len(data), _CHUNK):
        part = data[start : start + _CHUNK]
        inside = np.bitwise_xor.accumulate((part == _QUOTE).view(np.uint8)) ^ in_string
        opens = (part == _OPEN_ARRAY) | (part == _OPEN_OBJECT)
        closes = (part == _CLOSE_ARRAY) | (part == _CLOSE_OBJECT)
        steps = np.where(inside, 0, opens.view(np.int8) - closes.view(np.int8))
        sums = steps.cumsum(dtype=np.int32)  # a chunk's sums fit; the carry is a Python int
        deepest = max(deepest, depth + int(sums.max()))
        depth, in_string = depth + int(sums[-1]), int(inside[-1])
    return deepest
