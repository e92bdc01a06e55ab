"""HMAC-SHA256 and constant-time comparison, portable to MicroPython (which has no hmac)."""

import hashlib

try:
    import binascii
except ImportError:  # pragma: no cover - every MicroPython port ships binascii
    import ubinascii as binascii

BLOCK = 64
_IPAD = bytes(0x36 for _ in range(BLOCK))
_OPAD = bytes(0x5C for _ in range(BLOCK))


def _xor(key, pad):
    return bytes(key[i] ^ pad[i] for i in range(BLOCK))


def hmac_sha256(key, msg):
    """HMAC-SHA256 of msg under key, as 32 raw bytes (RFC 2104)."""
    key = bytes(key)
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key + bytes(BLOCK - len(key))
    inner = hashlib.sha256(_xor(key, _IPAD))
    inner.update(msg)
    outer = hashlib.sha256(_xor(key, _OPAD))
    outer.update(inner.digest())
    return outer.digest()


def hexlify(data):
    """Lower-case hex text of bytes."""
    return binascii.hexlify(data).decode()


def unhexlify(text):
    """Bytes from hex text; raises ValueError on anything that is not even-length hex."""
    if not isinstance(text, str) or len(text) % 2:
        raise ValueError("not hex") from None
    try:
        return binascii.unhexlify(text)
    except Exception:
        raise ValueError("not hex") from None


def equal(a, b):
    """Compare two byte strings in time independent of where they differ."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
