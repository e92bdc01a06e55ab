"""The firmware's portable HMAC and canonical bytes agree with CPython's hmac and json."""

from __future__ import annotations

import hmac
import json
import random
from hashlib import sha256

from gridshare_meter import canon
from gridshare_meter.hmac256 import hmac_sha256


def test_portable_hmac_equals_cpython_hmac_on_random_inputs() -> None:
    rng = random.Random(4)
    for _ in range(300):
        key = rng.randbytes(rng.choice([0, 1, 31, 32, 33, 63, 64, 65, 200]))
        msg = rng.randbytes(rng.randrange(0, 300))
        assert hmac_sha256(key, msg) == hmac.new(key, msg, sha256).digest()


def _random_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(6 if depth < 3 else 4)
    if kind == 0:
        return rng.randrange(-(10**15), 10**15)
    if kind == 1:
        return rng.choice([True, False, None])
    if kind == 2:
        alphabet = "abcXYZ019 _-:/.,{}[]'"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(8)))
    if kind == 3:
        return rng.randrange(10)
    if kind == 4:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{rng.randrange(50)}": _random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_canonical_bytes_equal_cpython_sorted_compact_json() -> None:
    rng = random.Random(5)
    for _ in range(500):
        obj = {"x": _random_value(rng)}
        expected = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
        assert canon.encode(obj) == expected
