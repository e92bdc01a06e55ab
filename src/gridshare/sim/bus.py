"""The DC bus coupling exporting and importing meters, with resistive line losses.

Each house connects to the bus through its own line (resistance R). Importers draw what they
can absorb (up to their line rating); exporters share the supply in proportion to what they
can give. What the buyers receive is what the sellers send minus I^2 R in every line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Connection:
    """One house whose relay is closed: its role, voltage, line and what it can move (W)."""

    house_id: int
    exporting: bool
    voltage_v: float
    line_ohm: float
    available_w: float


@dataclass(frozen=True, slots=True)
class Flow:
    """Power at one house's meter (W, positive = into the house) and the current (A)."""

    house_id: int
    power_w: float
    current_a: float


@dataclass(frozen=True, slots=True)
class BusResult:
    """Every house's flow and the total line loss."""

    flows: tuple[Flow, ...]
    loss_w: float


def _line_loss(power_w: float, v: float, ohm: float) -> float:
    current = power_w / v
    return current * current * ohm


def _house_power_for_bus(bus_w: float, v: float, ohm: float) -> float:
    """House-side output P with P - (P/V)^2 R = bus_w (the smaller root)."""
    if ohm <= 0 or bus_w <= 0:
        return max(bus_w, 0.0)
    a = ohm / (v * v)
    disc = 1 - 4 * a * bus_w
    if disc < 0:
        return 1 / (2 * a)
    return (1 - math.sqrt(disc)) / (2 * a)


def solve(connections: Sequence[Connection]) -> BusResult:
    """The flows on the bus for the houses connected to it."""
    importers = [c for c in connections if not c.exporting and c.available_w > 0]
    exporters = [c for c in connections if c.exporting and c.available_w > 0]
    zero = tuple(Flow(c.house_id, 0.0, 0.0) for c in connections)
    if not importers or not exporters:
        return BusResult(zero, 0.0)
    caps = [
        max(0.0, c.available_w - _line_loss(c.available_w, c.voltage_v, c.line_ohm))
        for c in exporters
    ]
    total_cap = sum(caps)
    need = sum(
        c.available_w + _line_loss(c.available_w, c.voltage_v, c.line_ohm) for c in importers
    )
    if total_cap <= 0:
        return BusResult(zero, 0.0)
    scale = min(1.0, total_cap / need)
    draws = {c.house_id: c.available_w * scale for c in importers}
    bus_need = sum(
        draws[c.house_id] + _line_loss(draws[c.house_id], c.voltage_v, c.line_ohm)
        for c in importers
    )
    flows: dict[int, Flow] = {}
    loss = bus_need - sum(draws.values())
    for c in importers:
        p = draws[c.house_id]
        flows[c.house_id] = Flow(c.house_id, p, p / c.voltage_v)
    for c, cap in zip(exporters, caps, strict=True):
        share = bus_need * cap / total_cap
        p = _house_power_for_bus(share, c.voltage_v, c.line_ohm)
        loss += p - share
        flows[c.house_id] = Flow(c.house_id, -p, -p / c.voltage_v)
    ordered = tuple(flows.get(c.house_id, Flow(c.house_id, 0.0, 0.0)) for c in connections)
    return BusResult(ordered, loss)
