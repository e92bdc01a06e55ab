"""Verified meter reports as frozen dataclasses, and the checks that produce them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from gridshare.domain.units import Wh
from gridshare.meters.errors import ReportInvalid
from gridshare.meters.keys import MeterKey
from gridshare.meters.wire import signature_valid


class Role(StrEnum):
    """Which way energy flows through the meter for a delivery."""

    IMPORT = "import"
    EXPORT = "export"


class DeliveryState(StrEnum):
    """A delivery's state on the meter."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        return self in (DeliveryState.COMPLETED, DeliveryState.STOPPED, DeliveryState.EXPIRED)


class EndReason(StrEnum):
    """Why a meter ended a delivery: the `reason` of its final report, every one the firmware
    sets (firmware/gridshare_meter: `Book.credit`, `Book.expire`, `Meter.command`,
    `Meter.sample`, `Meter.update`). Kept as text on the server (`MeterDelivery.reason`), so a
    newer firmware's reason is carried, not refused."""

    TARGET = "target"  # it metered its whole target (the buyer's amount; the seller's cap)
    DEADLINE = "deadline"  # the deadline passed before it did
    STOP = "stop"  # the server told it to stop
    SENSOR_FAULT = "sensor_fault"  # a reading could not be trusted, or taken: relay opened
    SERVER_SILENT = "server_silent"  # no command from the server for its silence limit


@dataclass(frozen=True, slots=True)
class MeterDelivery:
    """A delivery as the meter sees it; times are server milliseconds."""

    delivery_id: int
    role: Role
    target_wh: Wh
    deadline_ms: int
    state: DeliveryState
    reason: str | None  # an EndReason's value once final (None before)
    delivered_mwh: int
    created_ms: int
    started_ms: int | None
    ended_ms: int | None

    @property
    def delivered_wh(self) -> Wh:
        """Whole watt-hours metered (rounded down), what settlement uses."""
        return Wh(self.delivered_mwh // 1000)

    @property
    def final(self) -> bool:
        return self.state.final


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A verified, signed report about one delivery (final once its state is final)."""

    meter_id: int
    counter: int
    time_ms: int | None
    delivery: MeterDelivery
    signature: str

    @property
    def final(self) -> bool:
        return self.delivery.final


@dataclass(frozen=True, slots=True)
class MeterStatus:
    """A verified status report: readings, counters, relay and deliveries."""

    meter_id: int
    counter: int
    time_ms: int | None
    uptime_ms: int
    voltage_mv: int
    current_ma: int
    power_mw: int
    import_mwh: int
    export_mwh: int
    relay_closed: bool
    fault: str | None
    silent: bool
    active: MeterDelivery | None
    queued: tuple[MeterDelivery, ...]


def _int(raw: Mapping[str, object], field: str) -> int:
    value = raw.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ReportInvalid(f"{field}: must be an integer")
    return value


def _opt_int(raw: Mapping[str, object], field: str) -> int | None:
    return None if raw.get(field) is None else _int(raw, field)


def _opt_str(raw: Mapping[str, object], field: str) -> str | None:
    value = raw.get(field)
    if value is None or isinstance(value, str):
        return value
    raise ReportInvalid(f"{field}: must be text")


def _bool(raw: Mapping[str, object], field: str) -> bool:
    value = raw.get(field)
    if not isinstance(value, bool):
        raise ReportInvalid(f"{field}: must be true or false")
    return value


def parse_delivery(raw: object) -> MeterDelivery:
    """A MeterDelivery from its report dict (no signature check)."""
    if not isinstance(raw, Mapping):
        raise ReportInvalid("delivery: must be an object")
    try:
        role = Role(str(raw.get("role")))
        state = DeliveryState(str(raw.get("state")))
    except ValueError as exc:
        raise ReportInvalid(f"delivery: {exc}") from exc
    return MeterDelivery(
        delivery_id=_int(raw, "id"),
        role=role,
        target_wh=Wh(_int(raw, "target_wh")),
        deadline_ms=_int(raw, "deadline"),
        state=state,
        reason=_opt_str(raw, "reason"),
        delivered_mwh=_int(raw, "delivered_mwh"),
        created_ms=_int(raw, "created"),
        started_ms=_opt_int(raw, "started"),
        ended_ms=_opt_int(raw, "ended"),
    )


def check_envelope(
    raw: object, key: MeterKey, kind: str, request_counter: int | None, after: int
) -> Mapping[str, object]:
    """The report dict once its signature, meter, kind, request and counter check out.

    A report that answers a request (`request_counter`) is fresh by its signed `req`, so its
    own counter is not held against `after`: a meter that lost its counter file (re-flashed)
    counts from zero again, and refusing its answers left it running a delivery the server
    believed unstarted. Only a report that answers no request must count above `after`.
    """
    if not isinstance(raw, Mapping):
        raise ReportInvalid("report: must be an object")
    if not signature_valid(key.key, raw):
        raise ReportInvalid("sig: report signature does not match")
    if raw.get("type") != "report" or raw.get("kind") != kind:
        raise ReportInvalid(f"kind: expected a {kind} report")
    if _int(raw, "meter") != key.meter_id:
        raise ReportInvalid("meter: report is from another meter")
    if request_counter is not None and raw.get("req") != request_counter:
        raise ReportInvalid("req: report does not answer this request")
    if _int(raw, "counter") <= after and request_counter is None:
        raise ReportInvalid("counter: replayed or out-of-order report")
    return raw


def verify_delivery_report(
    raw: object,
    key: MeterKey,
    *,
    delivery_id: int | None = None,
    request_counter: int | None = None,
    after: int = 0,
) -> DeliveryReport:
    """Verify a signed delivery report (id, Wh, counter, HMAC); raises ReportInvalid."""
    report = check_envelope(raw, key, "delivery", request_counter, after)
    delivery = parse_delivery(report)
    if delivery_id is not None and delivery.delivery_id != delivery_id:
        raise ReportInvalid("id: report is about another delivery")
    return DeliveryReport(
        meter_id=key.meter_id,
        counter=_int(report, "counter"),
        time_ms=_opt_int(report, "time"),
        delivery=delivery,
        signature=str(report["sig"]),
    )


def verify_status_report(
    raw: object, key: MeterKey, *, request_counter: int | None = None, after: int = 0
) -> MeterStatus:
    """Verify a signed status report; raises ReportInvalid."""
    report = check_envelope(raw, key, "status", request_counter, after)
    active = report.get("active")
    queued = report.get("queued")
    if not isinstance(queued, list):
        raise ReportInvalid("queued: must be a list")
    return MeterStatus(
        meter_id=key.meter_id,
        counter=_int(report, "counter"),
        time_ms=_opt_int(report, "time"),
        uptime_ms=_int(report, "uptime_ms"),
        voltage_mv=_int(report, "v_mv"),
        current_ma=_int(report, "i_ma"),
        power_mw=_int(report, "p_mw"),
        import_mwh=_int(report, "import_mwh"),
        export_mwh=_int(report, "export_mwh"),
        relay_closed=_bool(report, "relay"),
        fault=_opt_str(report, "fault"),
        silent=_bool(report, "silent"),
        active=None if active is None else parse_delivery(active),
        queued=tuple(parse_delivery(d) for d in queued),
    )
