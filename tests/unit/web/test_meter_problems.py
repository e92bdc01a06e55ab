"""Each way a meter can fail to give a reading has its own words for each reader: the
resident's sentence (/meter), the few words on /community, and the operator's sentence after
registering a household or changing its meter, which names what to check."""

from __future__ import annotations

from typing import get_args

import pytest

from gridshare.meters import MeterAddressInvalid, MeterRejected, MeterUnreachable, ReportInvalid
from gridshare.meters.errors import MeterError
from gridshare.meters.problems import MeterProblem, meter_problem
from gridshare.services.backoff import MeterTrouble
from gridshare.storage.households import HouseholdRecord
from gridshare.web.readings import METER_STATES, RESIDENT_SENTENCES, meter_trouble
from gridshare.web.routes.pages_operator import METER_FAILED, METER_SAYS, trouble_said

PROBLEMS = set(get_args(MeterProblem))


def test_every_problem_has_its_own_words_for_residents_the_community_and_the_operator() -> None:
    for words in (RESIDENT_SENTENCES, METER_STATES, METER_SAYS):
        assert set(words) == PROBLEMS
        assert len(set(words.values())) == len(PROBLEMS)  # no two problems share a sentence
    for said in METER_SAYS.values():  # the operator is told what to check, not to ask himself
        assert "{house}" in said and "ask the operator" not in said


@pytest.mark.parametrize(("exc", "problem"), [
    (MeterAddressInvalid("meter_url: not a URL"), "bad_address"),
    (MeterUnreachable("connection refused"), "not_answering"),
    (MeterRejected(401, "sig: signature does not match"), "refuses_key"),
    (MeterRejected(403, "meter: command is for another meter"), "other_meter_id"),
    (MeterRejected(401, "counter: replayed or out of order"), "counter_behind"),
    (MeterRejected(503, "state: cmd must be a whole number >= 0; ..."), "locked"),
    (MeterRejected(404, "path: no such endpoint"), "error_status"),
    (ReportInvalid("sig: report signature does not match"), "bad_signature"),
    (ReportInvalid("meter: report is from another meter"), "other_meter"),
    (ReportInvalid("report: meter answered with no JSON"), "unreadable"),
])
def test_what_went_wrong_is_named_by_what_the_meter_answered(
    exc: MeterError, problem: str
) -> None:
    assert meter_problem(exc) == problem


def test_an_error_status_is_told_to_the_resident_with_its_number_and_nothing_the_meter_said(
) -> None:
    said = meter_trouble(MeterRejected(500, "<script>secret</script>"))
    assert said == "The meter answered with an error (HTTP 500): ask the operator to check it."


def test_a_troubled_meter_is_said_in_the_operators_words_and_never_shows_its_key() -> None:
    """The troubles table's sentence is the operator's for the meter's problem, and the
    engine's words under it lose the house's meter key should a meter have echoed it."""
    key = "ab" * 32
    record = HouseholdRecord(3, "Amina", "0x" + "11" * 20, 3, "http://10.0.0.3", key, None)
    echoed = f"delivery 4: not started yet: meter answered 401: sig: {key.upper()} is wrong"
    said, raw = trouble_said(record, MeterTrouble(2, echoed, "refuses_key"))
    assert said == METER_SAYS["refuses_key"].format(house=3)
    assert raw == "delivery 4: not started yet: meter answered 401: sig: … is wrong"
    server = trouble_said(record, MeterTrouble(1, "start failed: OperationalError: locked"))
    assert server == (METER_FAILED.format(house=3), "start failed: OperationalError: locked")
