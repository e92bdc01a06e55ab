"""MeterClient sends signed commands and returns verified, typed reports."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from gridshare.domain.units import Wh
from gridshare.meters import (
    DeliveryState,
    MeterClient,
    MeterKey,
    MeterRejected,
    MeterUnreachable,
    ReportInvalid,
    Role,
    seller_cap_wh,
)
from tests.unit.meters.fake_meter import SERVER_T0, FakeMeter

KEY = MeterKey(3, bytes(range(32)))


def _client(fake: FakeMeter, key: MeterKey = KEY) -> MeterClient:
    return MeterClient("http://meter", key, clock_ms=fake.clock_ms, transport=fake.transport())


def test_start_delivery_returns_a_frozen_verified_report() -> None:
    fake = FakeMeter(KEY)
    with _client(fake) as client:
        report = client.start_delivery(12, Role.IMPORT, 5, SERVER_T0 + 60_000)
    assert report.meter_id == 3 and report.delivery.delivery_id == 12
    assert report.delivery.state is DeliveryState.RUNNING and report.delivery.role is Role.IMPORT
    assert not report.final
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.counter = 0  # type: ignore[misc]


def test_stop_returns_the_final_report_with_energy() -> None:
    fake = FakeMeter(KEY)
    with _client(fake) as client:
        client.start_delivery(1, Role.EXPORT, 5, SERVER_T0 + 60_000)
        for t in range(0, 3700, 100):
            fake.now_ms = t
            fake.meter.sample(t, 48_000, -10_000)  # type: ignore[attr-defined]
        report = client.stop(1)
        again = client.delivery(1)
    assert report.final and report.delivery.state is DeliveryState.STOPPED
    assert report.delivery.delivered_mwh == 480  # 480 W for 3.6 s
    assert report.delivery.delivered_wh == 0
    assert again.delivery == report.delivery and again.counter > report.counter


def test_status_lists_active_and_queued_deliveries() -> None:
    fake = FakeMeter(KEY)
    with _client(fake) as client:
        client.start_delivery(1, Role.IMPORT, 5, SERVER_T0 + 60_000)
        client.start_delivery(2, Role.IMPORT, 5, SERVER_T0 + 60_000)
        status = client.status()
        beat = client.heartbeat()
    assert status.relay_closed and status.active is not None and status.active.delivery_id == 1
    assert [d.delivery_id for d in status.queued] == [2]
    assert beat.counter > status.counter and not beat.silent


def test_meter_errors_become_meter_rejected_with_the_field() -> None:
    fake = FakeMeter(KEY)
    with _client(fake) as client:
        with pytest.raises(MeterRejected) as info:
            client.start_delivery(1, Role.IMPORT, 0, SERVER_T0 + 60_000)
        assert info.value.status == 400 and "target_wh" in info.value.message
        with pytest.raises(MeterRejected) as info:
            client.delivery(99)
        assert info.value.status == 404


def test_wrong_key_is_rejected_by_the_meter() -> None:
    fake = FakeMeter(KEY)
    with _client(fake, MeterKey(3, bytes(32))) as client, pytest.raises(MeterRejected) as info:
        client.status()
    assert info.value.status == 401


def test_tampered_report_raises_report_invalid() -> None:
    fake = FakeMeter(KEY)

    def inflate(report: dict[str, object]) -> None:
        report["delivered_mwh"] = 10**9

    fake.tamper = inflate
    with _client(fake) as client, pytest.raises(ReportInvalid, match="sig"):
        client.start_delivery(1, Role.IMPORT, 5, SERVER_T0 + 60_000)


def test_unreachable_meter_raises_meter_unreachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = MeterClient("http://meter", KEY, transport=httpx.MockTransport(refuse))
    with pytest.raises(MeterUnreachable):
        client.status()


def test_seller_cap_adds_a_rounded_up_loss_allowance() -> None:
    assert seller_cap_wh(Wh(10)) == 11
    assert seller_cap_wh(Wh(1)) == 2
    assert seller_cap_wh(Wh(100), 5) == 105
