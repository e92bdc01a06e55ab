"""Server wire format equals the firmware's; keys hide their secret; counters only increase."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from gridshare_meter import auth as fw_auth
from gridshare_meter import canon as fw_canon

from gridshare.meters import ClockCounter, FileCounter, MeterKey, canonical, sign
from gridshare.meters.wire import signature_valid


def test_server_and_firmware_sign_identically() -> None:
    rng = random.Random(1)
    for _ in range(200):
        key = rng.randbytes(32)
        msg: dict[str, object] = {
            "type": "cmd", "meter": rng.randrange(100), "counter": rng.randrange(2**60),
            "time": rng.randrange(2**45), "action": rng.choice(["start", "stop", "ping"]),
            "id": rng.randrange(10**9), "queued": [{"id": 1, "final": False, "reason": None}],
        }
        assert canonical(msg) == fw_canon.encode(msg)
        msg["sig"] = sign(key, msg)
        assert msg["sig"] == fw_auth.sign(key, msg)
        assert signature_valid(key, msg)


def test_canonical_refuses_floats_and_unsafe_text() -> None:
    for bad in (1.5, 'say "hi"', "caf\u00e9", b"bytes"):
        with pytest.raises(ValueError):
            canonical({"v": bad})


def test_signature_valid_is_false_for_missing_or_wrong_sig() -> None:
    key = bytes(32)
    assert not signature_valid(key, {"a": 1})
    assert not signature_valid(key, {"a": 1, "sig": sign(bytes(range(32)), {"a": 1})})
    assert not signature_valid(key, {"a": 1.5, "sig": "00"})


def test_meter_key_is_256_bits_and_never_printed() -> None:
    key = MeterKey.generate(7)
    assert len(key.key) == 32 and key.hex not in repr(key)
    assert MeterKey.from_hex(7, key.hex) == key
    with pytest.raises(ValueError, match="key"):
        MeterKey(7, b"short")
    with pytest.raises(ValueError, match="hex"):
        MeterKey.from_hex(7, "zz")


def test_clock_counter_increases_even_when_the_clock_stands_still() -> None:
    counter = ClockCounter(clock_us=lambda: 1000)
    values = [counter.next(1) for _ in range(5)]
    assert values == [1000, 1001, 1002, 1003, 1004]
    assert counter.next(2) == 1000


def test_file_counter_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "counters.json"
    first = FileCounter(path)
    assert [first.next(1), first.next(1), first.next(2)] == [1, 2, 1]
    assert FileCounter(path).next(1) == 3
