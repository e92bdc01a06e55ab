"""The signed wire format shared with the firmware: canonical bytes and HMAC-SHA256.

Independent of the firmware's own implementation (which has no `hmac` module); tests check
that both produce identical bytes and signatures.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

PREFIX = b"gridshare-meter/1\n"

_SAFE = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}


def _check(value: object, where: str) -> None:
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, str):
        if not set(value) <= _SAFE:
            raise ValueError(f"{where}: text must be printable ASCII without quote or backslash")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{where}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: keys must be text")
            _check(key, where)
            _check(item, f"{where}.{key}")
        return
    raise ValueError(f"{where}: cannot sign a {type(value).__name__}")


def canonical(obj: Mapping[str, object]) -> bytes:
    """Canonical bytes of a message: sorted keys, no spaces, no floats, plain ASCII text."""
    _check(obj, "message")
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def signing_bytes(msg: Mapping[str, object]) -> bytes:
    """What the HMAC covers: the version prefix and the message without its `sig`."""
    return PREFIX + canonical({k: v for k, v in msg.items() if k != "sig"})


def sign(key: bytes, msg: Mapping[str, object]) -> str:
    """Hex HMAC-SHA256 of msg under key."""
    return hmac.new(key, signing_bytes(msg), hashlib.sha256).hexdigest()


def signature_valid(key: bytes, msg: Mapping[str, object]) -> bool:
    """True when msg carries a correct `sig` for key (compared in constant time)."""
    sig = msg.get("sig")
    if not isinstance(sig, str):
        return False
    try:
        expected = sign(key, msg)
    except ValueError:
        return False
    return hmac.compare_digest(expected, sig)
