"""A server process running only the market engine (for the crash test): SIGKILL it at will.

    python serve_engine.py DATA_DIR [TICK_S]
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

from gridshare.config import Settings
from gridshare.runtime import build_runtime
from gridshare.services.engine import EngineSettings, MarketEngine


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
    data_dir = Path(sys.argv[1])
    tick_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
    runtime = build_runtime(Settings(data_dir=data_dir))
    engine = MarketEngine(
        runtime.market, runtime.operator, runtime.database, EngineSettings(tick_s=tick_s)
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    engine.start()
    print("engine ready", flush=True)
    done.wait()
    engine.stop()
    runtime.close()


if __name__ == "__main__":
    main()
