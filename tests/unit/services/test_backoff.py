"""MeterBackoff: an unreachable meter is tried after waits that double, up to a cap."""

from __future__ import annotations

from gridshare.services.backoff import MeterBackoff


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
