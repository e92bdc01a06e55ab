"""`gridshare meter flash` (program a board via mpremote) and `gridshare meter-sim`."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
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
                       help="meters.json to record the meter's key and URL in (needs --url)")
    flash.add_argument("--calibration", type=Path, help="JSON object of calibration values")
    flash.add_argument("--dry-run", action="store_true",
                       help="stage the files and print the mpremote commands, touch no board")
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


def flash_command(args: argparse.Namespace) -> int:
    """Stage firmware + Microdot + config and copy them to the board with mpremote."""
    meter_id = int(args.meter_id)
    key = MeterKey.from_hex(meter_id, args.key) if args.key else MeterKey.generate(meter_id)
    if args.directory is not None and not args.url:
        print("--directory needs --url (the meter's address on the village network)",
              file=sys.stderr)
        return 2
    calibration = json.loads(args.calibration.read_text()) if args.calibration else {}
    config: dict[str, object] = {
        "meter_id": args.meter_id,
        "name": args.name or f"House {args.house_id or args.meter_id}",
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
    if not args.dry_run:
        result = subprocess.run(copy, cwd=stage, check=False)
        if result.returncode != 0:
            print("mpremote failed; is the board on", args.port, "?", file=sys.stderr)
            return result.returncode
    if args.directory is not None:
        known = load_directory(args.directory) if args.directory.exists() else []
        kept = [e for e in known if e.meter_id != args.meter_id]
        entry = MeterEntry(args.meter_id, args.house_id or args.meter_id, args.url, key)
        save_directory(args.directory, sorted([*kept, entry], key=lambda e: e.meter_id))
        print("recorded meter", args.meter_id, "in", args.directory)
    else:
        print("meter key (keep it secret, give it to the server):", key.hex)
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
