"""Server side of the meters: signed commands, verified reports, keys and counters."""

from gridshare.meters.client import MeterClient, seller_cap_wh
from gridshare.meters.directory import MeterEntry, load_directory, save_directory
from gridshare.meters.errors import (
    MeterAddressInvalid,
    MeterError,
    MeterRejected,
    MeterUnreachable,
    ReportInvalid,
)
from gridshare.meters.keys import ClockCounter, CommandCounter, CounterMarkFile, MeterKey
from gridshare.meters.problems import MeterProblem, meter_problem
from gridshare.meters.reports import (
    DeliveryReport,
    DeliveryState,
    EndReason,
    MeterDelivery,
    MeterStatus,
    Role,
    verify_delivery_report,
    verify_status_report,
)
from gridshare.meters.wire import canonical, sign, signature_valid

__all__ = [
    "ClockCounter",
    "CommandCounter",
    "CounterMarkFile",
    "DeliveryReport",
    "DeliveryState",
    "EndReason",
    "MeterAddressInvalid",
    "MeterClient",
    "MeterDelivery",
    "MeterEntry",
    "MeterError",
    "MeterKey",
    "MeterProblem",
    "MeterRejected",
    "MeterStatus",
    "MeterUnreachable",
    "ReportInvalid",
    "Role",
    "canonical",
    "load_directory",
    "meter_problem",
    "save_directory",
    "seller_cap_wh",
    "sign",
    "signature_valid",
    "verify_delivery_report",
    "verify_status_report",
]
