"""A server process running only the market engine (for the crash test): SIGKILL it at will.

    python serve_engine.py DATA_DIR [TICK_S] [--standby]

With `--standby` the process imports everything, prints "engine standby" and waits for a
line on stdin before it opens the data directory: the crash test starts the next server
while the current one still runs, so a restart costs the recovery (runtime, outbox, engine
state) and not the ~3 s of imports. It must not get its line before the previous server has
been killed and reaped: one process at a time owns the data directory.
"""

from __future__ import annotations

import faulthandler
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
    args = [a for a in sys.argv[1:] if a != "--standby"]
    data_dir = Path(args[0])
    tick_s = float(args[1]) if len(args) > 1 else 0.1
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    if "--standby" in sys.argv:
        print("engine standby", flush=True)
        if not sys.stdin.readline():
            return  # the test ended without needing this server
    runtime = build_runtime(Settings(data_dir=data_dir, market_engine=False))
    engine = MarketEngine(
        runtime.market, runtime.operator, runtime.database, EngineSettings(tick_s=tick_s)
    )
    engine.start()
    print("engine ready", flush=True)
    done.wait()
    engine.stop()
    runtime.close()


if __name__ == "__main__":
    main()
