"""Server wire format equals the firmware's; keys hide their secret; counters only increase."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from gridshare_meter import auth as fw_auth
from gridshare_meter import canon as fw_canon

from gridshare.meters import ClockCounter, CounterMarkFile, MeterKey, canonical, sign
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


class Marks:
    """A CounterMark in memory that remembers every save (and can be made to fail)."""

    def __init__(self, fail: bool = False) -> None:
        self.saved: list[int] = []
        self.fail = fail

    def load(self) -> int:
        return self.saved[-1] if self.saved else 0

    def save(self, mark: int) -> None:
        if self.fail:
            raise OSError(28, "No space left on device")
        self.saved.append(mark)


def commands(counter: ClockCounter, now: list[int], seconds: int) -> list[int]:
    """A command a second for `seconds` seconds of the clock in `now`."""
    given = []
    for _ in range(seconds):
        given.append(counter.next(1))
        now[0] += 1_000_000
    return given


def test_after_a_restart_with_the_clock_set_back_counters_stay_above_all_given_before(
    tmp_path: Path,
) -> None:
    """A Pi without a clock battery restarts on the time it last saved; its meters refuse a
    counter not above the last one they obeyed."""
    path = tmp_path / "meter-counter.json"
    now = [10 * HOUR_US]
    given = commands(ClockCounter(lambda: now[0], CounterMarkFile(path)), now, 100)
    now[0] -= HOUR_US  # the power cut: the clock comes back an hour behind
    after = ClockCounter(lambda: now[0], CounterMarkFile(path))
    again = [after.next(1) for _ in range(3)]
    assert min(again) > max(given)
    assert again == sorted(set(again))
    assert ClockCounter(lambda: now[0]).next(1) < max(given)  # what happened before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_a_power_cut_that_loses_the_latest_save_loses_no_counter() -> None:
    marks, now = Marks(), [10 * HOUR_US]
    given = commands(ClockCounter(lambda: now[0], marks), now, 600)  # ten minutes
    assert 15 <= len(marks.saved) <= 25  # about twice a minute, not once per command
    marks.saved.pop()  # the latest save did not survive
    now[0] -= HOUR_US
    assert ClockCounter(lambda: now[0], marks).next(1) > max(given)


def test_a_mark_that_cannot_be_saved_stops_no_command_and_is_tried_again_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A full or read-only card: the commands go on (the meters' fail-safe would otherwise
    trip everywhere); the failure is logged once per try, one try every RETRY_S."""
    marks, now, monotonic = Marks(fail=True), [10 * HOUR_US], [0.0]
    counter = ClockCounter(lambda: now[0], marks, monotonic=lambda: monotonic[0])
    assert commands(counter, now, 5) == [10 * HOUR_US + i * 1_000_000 for i in range(5)]
    assert caplog.text.count("cannot save the meters' command counter mark") == 1
    marks.fail, monotonic[0] = False, ClockCounter.RETRY_S
    counter.next(1)
    assert marks.saved == [now[0] + ClockCounter.RESERVE_US]


@pytest.mark.parametrize("text", ["", "{", "[]", '{"reserved_us": -1}', '{"reserved_us": 1.5}',
                                  '{"reserved_us": true}', '{"other": 5}'])
def test_an_unreadable_mark_falls_back_to_the_clock_and_says_so(
    tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "meter-counter.json"
    path.write_text(text)
    assert ClockCounter(lambda: 1000, CounterMarkFile(path)).next(1) == 1000
    assert "does not hold the meters' command counter" in caplog.text
    assert json.loads(path.read_text()) == {"reserved_us": 1000 + ClockCounter.RESERVE_US}
