"""What went wrong asking a meter, as a code: the words for each reader (resident, community,
operator) are the web pages'; the orchestrator keeps the code with a meter's trouble."""

from __future__ import annotations

from typing import Literal

from gridshare.meters.errors import (
    MeterAddressInvalid,
    MeterError,
    MeterRejected,
    MeterUnreachable,
    ReportInvalid,
)

MeterProblem = Literal[
    "not_answering", "refuses_key", "other_meter_id", "counter_behind", "locked", "bad_address",
    "error_status", "bad_signature", "other_meter", "unreadable",
]
"""Why a meter gave no reading: no (whole) answer in time; it refuses the server's key, says the
commands are for another meter, refuses the server's command counter (it obeyed a later one),
obeys no command (its counter file is unreadable); its address is no URL; another error
status; a report not signed with its key, from another meter, or no report at all."""


def meter_problem(exc: MeterError) -> MeterProblem:
    """What went wrong asking a meter, as `MeterProblem` names it."""
    if isinstance(exc, MeterAddressInvalid):
        return "bad_address"
    if isinstance(exc, MeterUnreachable):
        return "not_answering"
    if isinstance(exc, MeterRejected):
        # the firmware's refusals: "meter: ..." (403) after a good signature, "counter: ..."
        # (401) after a good signature and meter id, "state: ..." (503) for unreadable counters
        if exc.status == 403 and exc.message.startswith("meter:"):
            return "other_meter_id"
        if exc.status == 401 and exc.message.startswith("counter:"):
            return "counter_behind"
        if exc.status == 503 and exc.message.startswith("state:"):
            return "locked"
        if exc.status in (401, 403):
            return "refuses_key"
        return "error_status"
    if isinstance(exc, ReportInvalid) and exc.field == "sig":
        return "bad_signature"
    if isinstance(exc, ReportInvalid) and exc.field == "meter":
        return "other_meter"
    return "unreadable"
