"""Server wire format equals the firmware's; keys hide their secret; counters only increase."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from gridshare_meter import auth as fw_auth
from gridshare_meter import canon as fw_canon

from gridshare.meters import ClockCounter, FileCounter, MeterKey, canonical, keys, sign
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
    assert counter.next(2) == 1005  # one sequence for all meters


HOUR_US = 3600 * 10**6


def test_after_a_restart_with_the_clock_set_back_counters_stay_above_all_given_before(
    tmp_path: Path,
) -> None:
    """A Pi without a clock battery restarts on the time it last saved; its meters refuse a
    counter not above the last one they obeyed."""
    path = tmp_path / "meter-counter.json"
    now = [10 * HOUR_US]
    before = ClockCounter(clock_us=lambda: now[0], reserve_in=path)
    given = []
    for _ in range(100):
        given.append(before.next(1))
        now[0] += 1_000_000  # a command a second, 100 s in all
    now[0] -= HOUR_US  # the power cut: the clock comes back an hour behind
    after = ClockCounter(clock_us=lambda: now[0], reserve_in=path)
    again = [after.next(1) for _ in range(3)]
    assert min(again) > max(given)
    assert again == sorted(set(again))
    assert ClockCounter(clock_us=lambda: now[0]).next(1) < max(given)  # what happened before


def test_the_reservation_is_written_about_once_a_minute_not_per_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "meter-counter.json"
    writes: list[int] = []
    write = keys.write_reservation
    monkeypatch.setattr(keys, "write_reservation",
                        lambda p, mark: (writes.append(mark), write(p, mark))[1])
    now = [10 * HOUR_US]
    counter = ClockCounter(clock_us=lambda: now[0], reserve_in=path)
    for _ in range(600):  # ten minutes of a command a second
        counter.next(1)
        now[0] += 1_000_000
    assert 9 <= len(writes) <= 11
    assert json.loads(path.read_text()) == {"reserved_us": writes[-1]}
    assert not path.with_name(path.name + ".tmp").exists()


@pytest.mark.parametrize("text", ["", "{", "[]", '{"reserved_us": -1}', '{"reserved_us": 1.5}',
                                  '{"reserved_us": true}', '{"other": 5}'])
def test_an_unreadable_reservation_falls_back_to_the_clock_and_says_so(
    tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "meter-counter.json"
    path.write_text(text)
    assert ClockCounter(clock_us=lambda: 1000, reserve_in=path).next(1) == 1000
    assert "does not hold the meters' command counter" in caplog.text
    assert json.loads(path.read_text()) == {"reserved_us": 1000 + ClockCounter.RESERVE_US}


def test_file_counter_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "counters.json"
    first = FileCounter(path)
    assert [first.next(1), first.next(1), first.next(2)] == [1, 2, 1]
    assert FileCounter(path).next(1) == 3
