"""Board entry point: load config, open the relay, join Wi-Fi, then sample and serve HTTP."""

import asyncio
import gc

from board import Esp32Hardware, join_wifi, keep_wifi
from gridshare_meter.api import create_app
from gridshare_meter.config import load
from gridshare_meter.meter import Meter
from gridshare_meter.runtime import TicksClock, sample_forever
from gridshare_meter.store import FileStore


async def run(config):
    hw = Esp32Hardware(config)
    hw.set_relay(False, False)  # fail-safe: the relay is open until a command says otherwise
    wlan = join_wifi(config.wifi_ssid, config.wifi_password)
    clock = TicksClock()
    meter = Meter(
        config.meter_id,
        config.key,
        FileStore(config.state_file),
        silence_ms=config.silence_ms,
        max_queue=config.max_queue,
    )
    app = create_app(meter, clock, config.name)
    tasks = [
        asyncio.create_task(sample_forever(meter, hw, config.calibration, clock, config.sample_ms)),
        asyncio.create_task(keep_wifi(wlan, config.wifi_ssid, config.wifi_password)),
    ]
    gc.collect()
    try:
        await app.start_server(host="0.0.0.0", port=config.port)
    finally:
        for task in tasks:
            task.cancel()
        hw.set_relay(False, False)


asyncio.run(run(load("/config.json")))
