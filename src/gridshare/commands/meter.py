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
import subprocess
import sys
import tempfile
from pathlib import Path

from gridshare.meters.directory import MeterEntry, load_directory, save_directory
from gridshare.meters.keys import MeterKey

FIRMWARE_DIR = Path(__file__).resolve().parents[3] / "firmware"
BOARD_FILES = ("boot.py", "main.py", "board.py")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `meter flash` and `meter-sim`."""
    meter = subparsers.add_parser("meter", help="meter firmware tools")
    meter_sub = meter.add_subparsers(dest="meter_command", metavar="SUBCOMMAND")

    def meter_help(_args: argparse.Namespace) -> int:
        meter.print_help()
        return 2

    meter.set_defaults(handler=meter_help)

    flash = meter_sub.add_parser("flash", help="copy firmware, Microdot and a config to a board")
    flash.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0")
    flash.add_argument("--meter-id", type=int, required=True)
    flash.add_argument("--wifi-ssid", required=True)
    flash.add_argument("--wifi-password", required=True)
    flash.add_argument("--name", help="shown on the meter's status page")
    flash.add_argument("--key", help="64 hex digits; a new random key by default")
    flash.add_argument("--house-id", type=int, help="house of this meter (default: meter id)")
    flash.add_argument("--url", help="the meter's address for the server, e.g. http://10.0.0.21")
    flash.add_argument("--directory", type=Path,
                       help="meters.json to record the meter's key and URL in (needs --url): "
                            "the operator's record, the server does not read it")
    flash.add_argument("--calibration", type=Path, help="JSON object of calibration values")
    flash.add_argument("--dry-run", action="store_true",
                       help="stage the files and print the mpremote command; touch no board, "
                            "record nothing")
    flash.add_argument("--stage-dir", type=Path, help="where to stage (default: a temp dir)")
    flash.set_defaults(handler=flash_command)

    sim = subparsers.add_parser("meter-sim", help="run N simulated meters over HTTP")
    sim.add_argument("--houses", type=int, default=10)
    sim.add_argument("--base-port", type=int, default=8100)
    sim.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--data-dir", type=Path, default=Path(".gridshare/meter-sim"),
                     help="keys (meters.json) and meter counters live here")
    sim.add_argument("--sample-ms", type=int, default=100)
    sim.add_argument("--silence-s", type=float, default=60.0,
                     help="fail-safe: open relays after this much simulated server silence")
    sim.add_argument("--seed", type=int, default=1)
    sim.set_defaults(handler=meter_sim_command)


def _microdot_files() -> list[Path]:
    spec = importlib.util.find_spec("microdot")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the microdot package is not installed (pip install microdot)")
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
_URL = re.compile(r"https?://\S+")


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


def _read_calibration(path: Path) -> dict[str, object]:
    """The calibration file's values, checked as the board's firmware will read them."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise FlashRefused(f"--calibration: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        values = json.loads(text)
    except ValueError as exc:
        raise FlashRefused(f"--calibration: {path} is not JSON ({exc})") from exc
    if not isinstance(values, dict):
        raise FlashRefused(f"--calibration: {path} must hold a JSON object, "
                           'e.g. {"v_ratio": 20.8, "i_zero_mv": 1642}')
    sensors = importlib.import_module("gridshare_meter.sensors")
    known = sorted(vars(sensors.Calibration({})))
    for name, value in values.items():
        if name not in known:
            raise FlashRefused(f"--calibration: {path}: unknown key {name!r} "
                               f"(known: {', '.join(known)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ):
            raise FlashRefused(f"--calibration: {path}: {name} must be a number, not {value!r}")
    try:
        sensors.Calibration(values)
    except ValueError as exc:
        rule = str(exc).removeprefix("calibration: ")
        raise FlashRefused(f"--calibration: {path}: {rule}") from exc
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
        if args.url is not None and not _URL.fullmatch(args.url):
            raise FlashRefused(f"--url: must start with http:// or https://, got {args.url!r}")
        if args.directory is not None and not args.url:
            raise FlashRefused("--directory needs --url (the meter's address on the village "
                               "network)")
        calibration = _read_calibration(args.calibration) if args.calibration else {}
        known = _read_directory(args.directory) if args.directory is not None else []
    except FlashRefused as exc:
        print(exc, file=sys.stderr)
        return 2
    config: dict[str, object] = {
        "meter_id": meter_id,
        "name": args.name or f"House {house_id}",
        "key": key.hex,
        "wifi_ssid": args.wifi_ssid,
        "wifi_password": args.wifi_password,
        "calibration": calibration,
    }
    stage = args.stage_dir or Path(tempfile.mkdtemp(prefix="gridshare-flash-"))
    entries = stage_firmware(stage, config)
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
        print(f"mpremote failed; is the board on {args.port}? Nothing was recorded: run the "
              "same command again", file=sys.stderr)
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
            print(f"could not record meter {meter_id} in {args.directory} ({exc}); "
                  "the board is flashed: keep the key printed above", file=sys.stderr)
            return 1
        print(f"recorded meter {meter_id} in {args.directory} (your own record of the keys; "
              "the server does not read it)")
    return 0


def meter_sim_command(args: argparse.Namespace) -> int:
    """Serve N simulated meters until interrupted."""
    from gridshare.sim.meter_sim import MeterSim, SimSettings

    settings = SimSettings(
        houses=args.houses,
        base_port=args.base_port,
        host=args.host,
        speed=args.speed,
        sample_ms=args.sample_ms,
        silence_ms=int(args.silence_s * 1000),
        data_dir=args.data_dir,
        seed=args.seed,
    )
    sim = MeterSim(settings)

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

    asyncio.run(main())
    return 0
