"""Each mechanism agrees with the naive reference market on long random command streams."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridshare.market import MECHANISMS

from .commands import (
    OWNERS,
    Cancel,
    Command,
    Place,
    Tick,
    check_conservation,
    make_order,
    random_commands,
    run,
)

COMMANDS = 100_000


@pytest.mark.parametrize("name", MECHANISMS)
def test_100k_random_commands_match_reference_and_conserve(name: str) -> None:
    result = run(name, _commands_for(name))
    check_conservation(result)
    if name == "bulletin":
        assert result.fills == []
    else:
        assert len(result.fills) > 1000  # the stream really trades


def _commands_for(name: str) -> list[Command]:
    return random_commands(seed=MECHANISMS.index(name) + 2024, count=COMMANDS)


@st.composite
def command_lists(draw: st.DrawFn) -> list[Command]:
    commands: list[Command] = []
    now = 0
    next_id = 1
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(["place", "place", "cancel", "tick"]))
        if kind == "place":
            commands.append(Place(make_order(
                next_id,
                draw(st.sampled_from(OWNERS[:3])),
                draw(st.booleans()),
                draw(st.integers(1, 5)),
                draw(st.integers(1, 6)),
                now + draw(st.integers(0, 120)),
            )))
            next_id += 1
        elif kind == "cancel":
            commands.append(Cancel(draw(st.integers(1, next_id))))
        else:
            seconds = draw(st.integers(1, 70))
            commands.append(Tick(seconds))
            now += seconds
    return commands


@pytest.mark.parametrize("name", MECHANISMS)
@settings(max_examples=300, deadline=None)
@given(commands=command_lists())
def test_small_command_lists_match_reference(name: str, commands: list[Command]) -> None:
    check_conservation(run(name, commands, check_every=1))
