"""The meter page says what is wrong with a meter in words a resident can act on: a meter that
answers but refuses the server's key is not "unreachable", and a silent one is not a stack of
HTTP jargon. Real simulated meters (the firmware over HTTP on loopback)."""

from __future__ import annotations

from gridshare.storage.households import HouseholdRecord
from gridshare.web.readings import meter_reading
from tests.integration.engine.support import free_base_port, sim_in_thread, sim_settings


def record(url: str, key_hex: str) -> HouseholdRecord:
    return HouseholdRecord(house_id=1, name="House 1", account="0x" + "11" * 20, meter_id=1,
                           meter_url=url, meter_key_hex=key_hex, auto_trading=None)


def test_a_meter_with_the_right_key_reads_and_a_wrong_key_or_silence_is_said_plainly() -> None:
    with sim_in_thread(sim_settings(1, speed=1.0)) as sim:
        entry = sim.entries[0]
        good = meter_reading(record(entry.url, entry.key.hex))
        assert good.reachable and good.error is None
        wrong = meter_reading(record(entry.url, "77" * 32))
    assert not wrong.reachable
    assert wrong.error is not None and "does not accept the server's key" in wrong.error
    silent = meter_reading(record(f"http://127.0.0.1:{free_base_port(1)}", entry.key.hex))
    assert silent.error == (
        "The meter did not answer: check that it has power and is on the village Wi-Fi."
    )


def test_an_address_no_client_can_use_is_said_plainly_not_raised() -> None:
    """A house registered before addresses were checked may hold one httpx cannot parse."""
    reading = meter_reading(record("http://[::1", "77" * 32))
    assert not reading.reachable
    assert reading.error == (
        "The meter address registered for this house is not a valid URL, so the server "
        "cannot ask the meter: tell the operator."
    )
