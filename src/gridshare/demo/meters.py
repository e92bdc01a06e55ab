"""The simulated meters' HTTP servers and physics on their own thread and event loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from gridshare.sim import MeterSim


class MeterThread:
    """Runs `MeterSim.serve()` on a daemon thread; `stop()` shuts it down from any thread."""

    def __init__(self, sim: MeterSim) -> None:
        self.sim = sim
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="demo-meters", daemon=True)

    def start(self, timeout_s: float = 30.0) -> None:
        """Start serving; returns once every meter listens (raises if one cannot bind)."""
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise OSError("the simulated meters did not start")
        if self._failure is not None:
            raise OSError(f"the simulated meters could not start: {self._failure}")

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start(); the thread just ends
            self._failure = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.sim.serve(lambda _: self._ready.set())

    def stop(self) -> None:
        """Stop the servers and the physics, and wait for the thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self.sim.stop)
        if self._thread.is_alive():
            self._thread.join(10)
