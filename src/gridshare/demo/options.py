"""The `gridshare demo` command line, and the checks it passes before anything is created."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from gridshare.demo.community import is_demo_dir, server_state

PORT_MAX = 65535


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """The `gridshare demo` command line."""

    data_dir: Path
    port: int = 8000
    meter_base_port: int = 18100
    speed: float = 60.0
    fresh: bool = False


def option_problems(options: DemoOptions, houses: int) -> list[str]:
    """One line per option the demo cannot run with (empty if it can); creates nothing."""
    checks = (
        _port_problem(options.port),
        _meter_ports_problem(options.meter_base_port, houses),
        _ports_overlap_problem(options.port, options.meter_base_port, houses),
        _speed_problem(options.speed),
        _data_dir_problem(options.data_dir),
    )
    return [problem for problem in checks if problem is not None]


def _port_problem(port: int) -> str | None:
    if 1 <= port <= PORT_MAX:
        return None
    return f"--port {port}: must be a port from 1 to {PORT_MAX}"


def _meter_ports_problem(base_port: int, houses: int) -> str | None:
    highest = PORT_MAX - houses + 1
    if 1 <= base_port <= highest:
        return None
    return (f"--meter-base-port {base_port}: must be from 1 to {highest}, so that all "
            f"{houses} meters get a port ({base_port}..{base_port + houses - 1} is not)")


def _ports_overlap_problem(port: int, base_port: int, houses: int) -> str | None:
    if not base_port <= port < base_port + houses:
        return None
    return (f"--port {port}: is one of the meters' ports {base_port}..{base_port + houses - 1} "
            "(--meter-base-port); pick another")


def _speed_problem(speed: float) -> str | None:
    if math.isfinite(speed) and speed > 0:
        return None
    return f"--speed {speed:g}: must be a positive number (simulated seconds per real second)"


def _data_dir_problem(data_dir: Path) -> str | None:
    """A file in the way, or another gridshare data directory the demo must not take over."""
    try:
        existing = next((p for p in (data_dir, *data_dir.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            return f"--data {data_dir}: {existing} is a file, not a directory"
        if existing != data_dir or is_demo_dir(data_dir):
            return None
        held = server_state(data_dir)
    except OSError as exc:
        return f"--data {data_dir}: cannot be read ({exc.strerror or exc})"
    if not held:
        return None
    return (f"--data {data_dir} is not a demo data directory: it holds {', '.join(held)} "
            "(another gridshare data directory?); use an empty directory")
