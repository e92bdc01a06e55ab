"""Over thousands of randomised attacks, no forged, replayed, stale, misaddressed command and
no tampered report is accepted."""

from __future__ import annotations

import random
from typing import Any

import pytest

from gridshare.meters import MeterKey, ReportInvalid, sign, verify_delivery_report
from gridshare.sim import firmware

KEY = MeterKey(4, bytes(range(100, 132)))
T0 = 1_750_000_000_000
ATTACKS = ("forged_sig", "wrong_key", "replay", "stale_counter", "wrong_meter", "tampered_field",
           "missing_sig", "unsigned_field_added")


def _signed(key: bytes, **msg: Any) -> dict[str, Any]:
    msg["sig"] = sign(key, msg)
    return msg


def _start(counter: int, did: int, meter: int = 4, key: bytes = KEY.key) -> dict[str, Any]:
    return _signed(key, type="cmd", meter=meter, counter=counter, time=T0, action="start",
                   id=did, role="import", target_wh=5, deadline=T0 + 10**9)


def test_randomised_command_attacks_are_never_accepted() -> None:
    rng = random.Random(2024)
    meter: Any = firmware.new_meter(4, KEY.key, None, silence_ms=10**9, max_queue=10**6)
    counter = 0
    seen: list[dict[str, Any]] = []
    legit_ids: set[int] = set()
    accepted_attacks = 0
    attempts = {a: 0 for a in ATTACKS}
    for i in range(1500):
        if rng.random() < 0.3:  # the real server keeps talking in between
            counter += rng.randrange(1, 5)
            did = 10_000 + i
            code, _ = meter.command(_start(counter, did), "start", i)
            assert code == 201
            legit_ids.add(did)
            seen.append(_start(counter, did))
            continue
        attack = rng.choice(ATTACKS)
        attempts[attack] += 1
        did = rng.randrange(10_000)
        if attack == "forged_sig":
            msg = _start(counter + 1, did)
            msg["sig"] = "".join(rng.choice("0123456789abcdef") for _ in range(64))
        elif attack == "wrong_key":
            msg = _start(counter + 1, did, key=rng.randbytes(32))
        elif attack == "replay" and seen:
            msg = dict(rng.choice(seen))
        elif attack == "stale_counter":
            msg = _start(rng.randrange(0, counter + 1), did)
        elif attack == "wrong_meter":
            msg = _start(counter + 1, did, meter=rng.choice([0, 3, 5, 40]))
        elif attack == "tampered_field":
            msg = _start(counter + 1, did)
            msg[rng.choice(["target_wh", "deadline", "role", "id", "counter", "time"])] = (
                rng.choice([10**6, "export", 1, counter + 10**6])
            )
            if msg == _start(counter + 1, did):
                continue
        elif attack == "missing_sig":
            msg = _start(counter + 1, did)
            del msg["sig"]
        else:
            msg = _start(counter + 1, did)
            msg["power_w"] = 5000
        code, _ = meter.command(msg, "start", i)
        if code < 400:
            accepted_attacks += 1
    assert accepted_attacks == 0
    assert sum(attempts.values()) >= 1000
    assert all(n > 50 for n in attempts.values())
    known = {d.id for d in meter.book.queue}
    if meter.book.active is not None:
        known.add(meter.book.active.id)
    assert known == legit_ids


def _report(meter: Any, did: int) -> dict[str, Any]:
    report: dict[str, Any] = meter.delivery_report(did, 77)
    return report


def test_randomised_report_tampering_is_always_detected() -> None:
    rng = random.Random(7)
    meter: Any = firmware.new_meter(4, KEY.key, None, silence_ms=10**9)
    meter.command(_start(1, 1), "start", 0)
    good = _report(meter, 1)
    verify_delivery_report(good, KEY, delivery_id=1, request_counter=77)
    rejected = 0
    for _ in range(1200):
        bad = dict(good)
        how = rng.randrange(6)
        if how == 0:
            bad["delivered_mwh"] = good["delivered_mwh"] + rng.randrange(1, 10**6)
        elif how == 1:
            sig = list(bad["sig"])
            pos = rng.randrange(64)
            sig[pos] = "0" if sig[pos] != "0" else "1"
            bad["sig"] = "".join(sig)
        elif how == 2:
            bad["state"] = rng.choice(["completed", "expired", "stopped"])
        elif how == 3:
            bad["meter"] = rng.choice([1, 2, 3, 5])
            bad["sig"] = sign(rng.randbytes(32), bad)  # re-signed without the key
        elif how == 4:
            bad["id"] = rng.randrange(2, 10**6)
        else:
            bad["sig"] = sign(KEY.key, bad)  # genuine, but answers another request
            bad["req"] = 76
        with pytest.raises(ReportInvalid):
            verify_delivery_report(bad, KEY, delivery_id=1, request_counter=77)
        rejected += 1
    assert rejected == 1200


def test_replayed_report_is_rejected_by_counter() -> None:
    meter: Any = firmware.new_meter(4, KEY.key, None, silence_ms=10**9)
    meter.command(_start(1, 1), "start", 0)
    old = _report(meter, 1)
    new = _report(meter, 1)
    last = verify_delivery_report(new, KEY).counter
    with pytest.raises(ReportInvalid, match="counter"):
        verify_delivery_report(old, KEY, after=last)


def test_an_answer_is_fresh_by_its_request_whatever_its_counter() -> None:
    """A re-flashed meter counts its reports from zero again; its answer to this request is
    still accepted, and the same report is useless for any other request."""
    meter: Any = firmware.new_meter(4, KEY.key, None, silence_ms=10**9)
    meter.command(_start(1, 1), "start", 0)
    last = max(verify_delivery_report(_report(meter, 1), KEY).counter for _ in range(5))
    flashed: Any = firmware.new_meter(4, KEY.key, None, silence_ms=10**9)
    flashed.command(_start(2, 1), "start", 0)
    answer = flashed.delivery_report(1, 78)
    assert answer["counter"] <= last
    report = verify_delivery_report(answer, KEY, request_counter=78, after=last)
    assert report.delivery.delivery_id == 1
    with pytest.raises(ReportInvalid, match="req"):
        verify_delivery_report(answer, KEY, request_counter=79, after=last)


def test_report_from_another_meter_with_its_own_key_is_rejected() -> None:
    other_key = MeterKey(5, bytes(range(32)))
    other: Any = firmware.new_meter(5, other_key.key, None, silence_ms=10**9)
    other.command(_signed(other_key.key, type="cmd", meter=5, counter=1, time=T0,
                          action="start", id=1, role="import", target_wh=5,
                          deadline=T0 + 10**6), "start", 0)
    with pytest.raises(ReportInvalid):
        verify_delivery_report(_report(other, 1), KEY)
