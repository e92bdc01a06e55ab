"""`gridshare meter flash` (program a board via mpremote) and `gridshare meter-sim`."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gridshare.commands.paths import directory_problem
from gridshare.meters.address import meter_url_problem
from gridshare.meters.directory import MeterEntry, load_directory, save_directory
from gridshare.meters.keys import MeterKey

if TYPE_CHECKING:  # imported when meter-sim runs: the simulator is slow to import
    from gridshare.sim.meter_sim import MeterSim, SimSettings, SimSettingsError

FIRMWARE_DIR = Path(__file__).resolve().parents[3] / "firmware"
BOARD_FILES = ("boot.py", "main.py", "board.py")
# every error line starts with the command, as `gridshare serve:` and `gridshare prune-chain:`
FLASH = "gridshare meter flash"
SIM = "gridshare meter-sim"
SILENCE_S = 60  # the firmware's default silence limit (silence_ms in gridshare_meter/config.py)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `meter flash` and `meter-sim`."""
    meter = subparsers.add_parser("meter", help="meter firmware tools")
    meter_sub = meter.add_subparsers(dest="meter_command", metavar="SUBCOMMAND")

    def meter_help(_args: argparse.Namespace) -> int:
        meter.print_help()
        return 2

    meter.set_defaults(handler=meter_help)

    flash = meter_sub.add_parser(
        "flash", help="copy firmware, Microdot and a config to a board",
        description="Stage the meter firmware, Microdot and a config.json (meter id, Wi-Fi, a "
                    "new random key unless --key) and copy them to a MicroPython board with "
                    "mpremote, then print the key to register on the operator page. Every "
                    "option is checked before the board is touched (docs/meters.md).",
    )
    flash.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0")
    flash.add_argument("--meter-id", type=int, required=True,
                       help="the meter's id, 1 to 1,000,000 (registered with its house)")
    flash.add_argument("--wifi-ssid", required=True, help="the village Wi-Fi's name")
    flash.add_argument("--wifi-password", required=True, help="the village Wi-Fi's password")
    flash.add_argument("--name", help="shown on the meter's status page")
    flash.add_argument("--key", help="64 hex digits; a new random key by default")
    flash.add_argument("--house-id", type=int, help="house of this meter (default: meter id)")
    flash.add_argument("--url", help="the meter's address for the server, e.g. http://10.0.0.21")
    flash.add_argument("--directory", type=Path,
                       help="meters.json to record the meter's key and URL in (needs --url): "
                            "the operator's record, the server does not read it")
    flash.add_argument("--calibration", type=Path, help="JSON object of calibration values")
    flash.add_argument("--pins", type=Path,
                       help='JSON object of the board\'s wiring, e.g. {"relay_active_high": '
                            'false} or, on an ESP32-S3, {"voltage": 4, "current": 5}; keys: '
                            + ", ".join(_firmware_config().PIN_KEYS))
    flash.add_argument("--silence-s", type=int, default=None,
                       help="fail-safe: the board opens its relay after this many seconds "
                            f"without a command from the server (default {SILENCE_S}); give "
                            "the server the same in GRIDSHARE_METER_SILENCE_S")
    flash.add_argument("--dry-run", action="store_true",
                       help="stage the files and print the mpremote command; touch no board, "
                            "record nothing")
    flash.add_argument("--stage-dir", type=Path, help="where to stage (default: a temp dir)")
    flash.set_defaults(handler=flash_command)

    sim = subparsers.add_parser(
        "meter-sim", help="run N simulated meters over HTTP",
        description="Serve N simulated meters, each the real meter firmware over a simulated "
                    "house, as HTTP servers on consecutive ports until Ctrl-C. Keys and counters "
                    "are kept in DATA_DIR (meters.json: each meter's id, house, URL and key).",
    )
    sim.add_argument("--houses", type=int, default=10,
                     help="how many meters (houses) to run (default 10)")
    sim.add_argument("--base-port", type=int, default=8100,
                     help="port of meter 1; meter N gets base port + N - 1 (default 8100)")
    sim.add_argument("--speed", type=float, default=1.0,
                     help="simulated seconds per wall-clock second (default 1.0)")
    sim.add_argument("--host", default="127.0.0.1",
                     help="address the meters listen on (default 127.0.0.1)")
    sim.add_argument("--data-dir", type=Path, default=Path(".gridshare/meter-sim"),
                     help="keys (meters.json) and meter counters live here "
                          "(default .gridshare/meter-sim)")
    sim.add_argument("--sample-ms", type=int, default=100,
                     help="simulated milliseconds between two meter samples (default 100)")
    sim.add_argument("--silence-s", type=float, default=60.0,
                     help="fail-safe: open relays after this many simulated seconds of server "
                          "silence (default 60)")
    sim.add_argument("--seed", type=int, default=1,
                     help="seed of the village's houses and sensor noise (default 1)")
    sim.set_defaults(handler=meter_sim_command)


def _microdot_files() -> list[Path]:
    spec = importlib.util.find_spec("microdot")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{FLASH}: the microdot package is not installed (pip install microdot)")
    root = Path(next(iter(spec.submodule_search_locations)))
    return [root / "__init__.py", root / "microdot.py"]


def stage_firmware(stage: Path, config: dict[str, object]) -> list[Path]:
    """Lay out the board's filesystem under stage; returns the top-level entries to copy."""
    lib = stage / "lib"
    (lib / "gridshare_meter").mkdir(parents=True, exist_ok=True)
    (lib / "microdot").mkdir(parents=True, exist_ok=True)
    for src in sorted((FIRMWARE_DIR / "gridshare_meter").glob("*.py")):
        shutil.copy2(src, lib / "gridshare_meter" / src.name)
    for src in _microdot_files():
        shutil.copy2(src, lib / "microdot" / src.name)
    for name in BOARD_FILES:
        shutil.copy2(FIRMWARE_DIR / name, stage / name)
    (stage / "config.json").write_text(json.dumps(config, indent=2))
    return [lib, *(stage / n for n in BOARD_FILES), stage / "config.json"]


class FlashRefused(Exception):
    """An option `meter flash` cannot use; the message is one line naming the option."""


# the operator page and POST /api/v1/households register ids in this range
ID_MIN, ID_MAX = 1, 10**6
_KEY_HEX = re.compile(r"[0-9a-fA-F]{64}")


def _checked_id(option: str, value: int) -> int:
    if not ID_MIN <= value <= ID_MAX:
        raise FlashRefused(f"{option}: must be {ID_MIN} to {ID_MAX:,} (the operator page "
                           f"registers no other ids), not {value}")
    return value


def _checked_key(meter_id: int, key_hex: str | None) -> MeterKey:
    if key_hex is None:
        return MeterKey.generate(meter_id)
    if not _KEY_HEX.fullmatch(key_hex):
        raise FlashRefused("--key: must be 64 hex digits (0-9, a-f: a 256-bit key), "
                           f"got {len(key_hex)} characters")
    return MeterKey.from_hex(meter_id, key_hex)


def _read_object(option: str, path: Path, example: str) -> dict[str, object]:
    """The JSON object in `path`, or FlashRefused naming `option`. Its values are checked
    with the rest of config.json, by the firmware's own rules (`_check_config`)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise FlashRefused(f"{option}: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        values = json.loads(text)
    except ValueError as exc:
        raise FlashRefused(f"{option}: {path} is not JSON ({exc})") from exc
    if not isinstance(values, dict):
        raise FlashRefused(f"{option}: {path} must hold a JSON object, e.g. {example}")
    return values


def _read_directory(path: Path) -> list[MeterEntry]:
    """The meters already recorded in path; refused unless path can be written afterwards."""
    folder = path.parent
    if path.is_dir():
        raise FlashRefused(f"--directory: {path} is a folder; name the file, "
                           f"e.g. {path / 'meters.json'}")
    if not folder.is_dir():
        raise FlashRefused(f"--directory: the folder {folder} does not exist "
                           f"(create it first: mkdir -p {folder})")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FlashRefused(f"--directory: cannot write in {folder} (run the command with sudo?)")
    if not path.exists():
        return []
    try:
        return load_directory(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FlashRefused(f"--directory: cannot read the meters already in {path} "
                           f"({exc}); fix or move the file first") from exc


def _checked_port(port: str) -> str:
    if not port.strip():
        raise FlashRefused("--port: must name the board's serial port, e.g. /dev/ttyUSB0; "
                           "got an empty one")
    return port


def _listening_port(url: str | None) -> int:
    """The port the board serves on: the one --url names (80 if it names none)."""
    if url is None:
        return 80
    parsed = urlsplit(url)
    if parsed.scheme != "http":
        raise FlashRefused(f"--url: the board serves plain HTTP: give http://..., got {url!r}")
    return parsed.port or 80


# where each key of the board's config.json comes from, for a refusal to name the option
_OPTION_OF = {"pins": "--pins", "calibration": "--calibration", "port": "--url",
              "name": "--name", "wifi_ssid": "--wifi-ssid", "wifi_password": "--wifi-password",
              "silence_ms": "--silence-s"}


def _firmware_config() -> Any:
    """The board's `gridshare_meter.config` (from firmware/, which mypy does not read)."""
    return importlib.import_module("gridshare_meter.config")


def _check_config(config: dict[str, object]) -> None:
    """Refuse a config.json the board's firmware would refuse at boot (the same rules, from
    the firmware itself: pins used twice, limits the wrong way round, ...)."""
    try:
        _firmware_config().Config(config)
    except ValueError as exc:
        rule = str(exc)
        option = _OPTION_OF.get(re.split(r"[.:]", rule, maxsplit=1)[0], "config")
        raise FlashRefused(f"{option}: the board would refuse this setting: {rule}") from exc


def _flash_silence_ms(seconds: int) -> int:
    """--silence-s as the board's silence_ms: whole seconds, as GRIDSHARE_METER_SILENCE_S
    gives the server the same limit, up to the firmware's hour."""
    if not 1 <= seconds <= 3600:
        raise FlashRefused(f"--silence-s: must be a whole number of seconds from 1 to 3,600, "
                           f"not {seconds}")
    return seconds * 1000


def _check_stage_dir(stage: Path | None) -> None:
    """Refuse a --stage-dir that is a file or cannot be created; nothing is created here."""
    problem = None if stage is None else directory_problem(stage)
    if problem is not None:
        raise FlashRefused(f"--stage-dir {stage}: {problem}")


def _make_stage(stage: Path | None) -> Path:
    """The folder to stage in: --stage-dir (created if missing) or a new temp dir."""
    if stage is None:
        return Path(tempfile.mkdtemp(prefix="gridshare-flash-"))
    try:
        stage.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FlashRefused(f"--stage-dir: cannot create {stage} "
                           f"({exc.strerror or exc})") from exc
    if not os.access(stage, os.W_OK | os.X_OK):
        raise FlashRefused(f"--stage-dir: cannot write in {stage}")
    return stage


def flash_command(args: argparse.Namespace) -> int:
    """Stage firmware + Microdot + config and copy them to the board with mpremote.

    Every option is checked before anything is staged or flashed; a board that was flashed
    always has its key printed, whether or not it could be recorded in --directory.
    """
    try:
        meter_id = _checked_id("--meter-id", int(args.meter_id))
        house_id = meter_id if args.house_id is None else _checked_id("--house-id",
                                                                      int(args.house_id))
        key = _checked_key(meter_id, args.key)
        url_problem = None if args.url is None else meter_url_problem(args.url)
        if url_problem is not None:  # the rule the server checks when it is registered
            raise FlashRefused(f"--url: {url_problem}, got {args.url!r}")
        if args.directory is not None and not args.url:
            raise FlashRefused("--directory needs --url (the meter's address on the village "
                               "network)")
        _checked_port(args.port)
        calibration = (_read_object("--calibration", args.calibration,
                                    '{"v_ratio": 20.8, "i_zero_mv": 1642}')
                       if args.calibration else {})  # fmt: skip
        pins = _read_object("--pins", args.pins, '{"relay": 26}') if args.pins else {}
        known = _read_directory(args.directory) if args.directory is not None else []
        config: dict[str, object] = {
            "meter_id": meter_id,
            "name": args.name or f"House {house_id}",
            "key": key.hex,
            "wifi_ssid": args.wifi_ssid,
            "wifi_password": args.wifi_password,
            "port": _listening_port(args.url),
            "calibration": calibration,
            "pins": pins,
        }
        if args.silence_s is not None:  # left out, the board keeps the firmware's default
            config["silence_ms"] = _flash_silence_ms(args.silence_s)
        _check_config(config)
        _check_stage_dir(args.stage_dir)
        stage = _make_stage(args.stage_dir)  # last: a refused option leaves nothing behind
    except FlashRefused as exc:
        print(f"{FLASH}: {exc}", file=sys.stderr)
        return 2
    try:
        entries = stage_firmware(stage, config)
    except OSError as exc:
        if args.stage_dir is None:
            shutil.rmtree(stage, ignore_errors=True)
        print(f"{FLASH}: --stage-dir: cannot stage the board's files in {stage} "
              f"({exc.strerror or exc}); nothing was flashed", file=sys.stderr)
        return 1
    mpremote = [sys.executable, "-m", "mpremote", "connect", args.port]
    copy = [*mpremote, "cp", "-r", *(e.name for e in entries), ":", "+", "reset"]
    print("staged in", stage)
    print(" ".join(copy))
    if args.dry_run:
        recorded = f"nothing recorded in {args.directory}" if args.directory else "nothing recorded"
        print(f"dry run: no board touched, {recorded}; the staged config.json holds the key "
              "this board would get")
        return 0
    result = subprocess.run(copy, cwd=stage, check=False)
    if args.stage_dir is None:  # the staged config.json holds the key: leave no copy behind
        shutil.rmtree(stage, ignore_errors=True)
    if result.returncode != 0:
        print(f"{FLASH}: mpremote failed; is the board on {args.port}? Nothing was recorded: "
              "run the same command again", file=sys.stderr)
        return result.returncode
    print(f"flashed meter {meter_id} (house {house_id})")
    print("meter key (keep it secret):", key.hex)
    print(f"register it on the operator page (/operator, Register household): House id "
          f"{house_id}, Meter id {meter_id}, Meter URL {args.url or '<the meter address>'}, "
          "Meter key (hex): the key above")
    if args.directory is not None:
        kept = [e for e in known if e.meter_id != meter_id]
        entry = MeterEntry(meter_id, house_id, args.url, key)
        try:
            save_directory(args.directory, sorted([*kept, entry], key=lambda e: e.meter_id))
        except OSError as exc:
            print(f"{FLASH}: could not record meter {meter_id} in {args.directory} ({exc}); "
                  "the board is flashed: keep the key printed above", file=sys.stderr)
            return 1
        print(f"recorded meter {meter_id} in {args.directory} (your own record of the keys; "
              "the server does not read it)")
    return 0


# SimSettings field -> the meter-sim option that sets it
_SIM_OPTIONS = {
    "houses": "--houses",
    "base_port": "--base-port",
    "host": "--host",
    "speed": "--speed",
    "sample_ms": "--sample-ms",
    "silence_ms": "--silence-s",
    "data_dir": "--data-dir",
    "seed": "--seed",
}


class SimRefused(Exception):
    """An option `meter-sim` cannot run with; the message is one line naming the option."""


def _silence_ms(seconds: float) -> int:
    """--silence-s in whole milliseconds (at least 1 ms for any positive time)."""
    if not (math.isfinite(seconds) and seconds > 0):
        raise SimRefused(f"--silence-s: must be a finite number greater than 0, not {seconds}")
    return max(1, round(seconds * 1000))


def _sim_settings(args: argparse.Namespace) -> SimSettings:
    """The settings the options ask for; a rule they break becomes SimRefused."""
    from gridshare.sim.meter_sim import SimSettings, SimSettingsError

    silence_ms = _silence_ms(args.silence_s)
    try:
        return SimSettings(
            houses=args.houses,
            base_port=args.base_port,
            host=args.host,
            speed=args.speed,
            sample_ms=args.sample_ms,
            silence_ms=silence_ms,
            data_dir=args.data_dir,
            seed=args.seed,
        )
    except SimSettingsError as exc:
        raise _sim_refusal(exc, args) from exc


def _sim_refusal(exc: SimSettingsError, args: argparse.Namespace) -> SimRefused:
    option = _SIM_OPTIONS.get(exc.field, exc.field)
    if exc.field == "data_dir":
        return SimRefused(f"{option}: {exc.rule}")
    value = getattr(args, option.removeprefix("--").replace("-", "_"), None)
    shown = repr(value) if isinstance(value, str) else str(value)
    return SimRefused(f"{option}: {exc.rule}, not {shown}")


def _check_host(host: str, port: int) -> None:
    """Refuse a --host that does not resolve, before anything is created."""
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise SimRefused(f"--host: cannot resolve {host!r} to an address to serve on "
                         f"({reason})") from exc


def _build_sim(settings: SimSettings) -> MeterSim:
    from gridshare.sim.meter_sim import MeterSim, SimSettingsError

    try:
        return MeterSim(settings)
    except SimSettingsError as exc:
        raise SimRefused(f"{_SIM_OPTIONS.get(exc.field, exc.field)}: {exc.rule}") from exc
    except OSError as exc:
        raise SimRefused(f"--data-dir: cannot keep keys and counters in {settings.data_dir} "
                         f"({exc.strerror or exc})") from exc


def meter_sim_command(args: argparse.Namespace) -> int:
    """Serve N simulated meters until interrupted.

    Every option is checked before anything is created (exit 2, one line); a failure to serve,
    such as a port already in use, is one line and exit 1.
    """
    try:
        settings = _sim_settings(args)
        _check_host(settings.host, settings.base_port)
        sim = _build_sim(settings)
    except SimRefused as exc:
        print(f"{SIM}: {exc}", file=sys.stderr)
        return 2

    def ready(s: MeterSim) -> None:
        for e in s.entries:
            print(f"meter {e.meter_id} (house {e.house_id}) {e.url}")
        print(f"meter-sim ready: {len(s.entries)} meters, keys in "
              f"{settings.data_dir / 'meters.json' if settings.data_dir else '(memory)'}",
              flush=True)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, sim.stop)
        await sim.serve(ready)

    try:
        asyncio.run(main())
    except OSError as exc:
        last = settings.base_port + settings.houses - 1
        print(f"{SIM}: cannot serve on {settings.host} ports {settings.base_port}-{last} "
              f"({exc.strerror or exc}); is another meter-sim running there?", file=sys.stderr)
        return 1
    return 0
