"""MeterBackoff: an unreachable meter is tried after waits that double, up to a cap, and
what its last failure was is kept for the operator until it answers."""

from __future__ import annotations

from gridshare.services.backoff import MeterBackoff, MeterTrouble


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_waits_double_from_half_a_second_up_to_eight() -> None:
    clock = Clock()
    backoff = MeterBackoff(clock=clock)
    assert [backoff.failed(7) for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_a_meter_is_not_ready_until_its_wait_is_over_and_others_are_unaffected() -> None:
    clock = Clock()
    backoff = MeterBackoff(clock=clock)
    backoff.failed(7)
    backoff.failed(7)  # second failure in a row: 1 s
    assert not backoff.ready(7) and backoff.ready(8)
    clock.now += 0.99
    assert not backoff.ready(7)
    clock.now += 0.01
    assert backoff.ready(7)


def test_an_answer_forgets_the_failures() -> None:
    clock = Clock()
    backoff = MeterBackoff(clock=clock)
    for _ in range(4):
        backoff.failed(3)
    backoff.answered(3)
    assert backoff.ready(3)
    assert backoff.failed(3) == 0.5  # starts over from the first wait


def test_what_the_last_failure_was_is_kept_until_the_meter_answers() -> None:
    backoff = MeterBackoff(clock=Clock())
    refused = "delivery 1: not started yet: meter answered 401: counter"
    backoff.failed(3, "delivery 1: not started yet: connection refused")
    backoff.failed(3, refused)
    backoff.failed(4)
    troubles = backoff.troubles()
    assert troubles[3] == MeterTrouble(2, refused)
    assert troubles[4].failures == 1 and set(troubles) == {3, 4}
    backoff.answered(3)
    assert set(backoff.troubles()) == {4}
