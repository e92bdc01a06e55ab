"""Pure helpers of the engine: match chunks and keys, agent readings, stored rules."""

from __future__ import annotations

from typing import Any

from gridshare.domain import MatchProposal, Wei, Wh
from gridshare.market import AgentRules
from gridshare.services.agents import StaticKeys, reading_from_sim, undelivered
from gridshare.services.matcher import batch_key, chunks
from gridshare.storage.deliveries import DeliveryRecord, Phase
from gridshare.storage.households import rules_from_json, rules_to_json


def _p(i: int) -> MatchProposal:
    return MatchProposal(i, 1000 + i, Wh(2), Wei(7))


def test_matches_go_in_chunks_of_at_most_fifty_in_order() -> None:
    proposals = [_p(i) for i in range(120)]
    parts = chunks(proposals)
    assert [len(c) for c in parts] == [50, 50, 20]
    assert [p for c in parts for p in c] == proposals


def test_batch_key_is_stable_and_content_addressed() -> None:
    assert batch_key([_p(1), _p(2)]) == batch_key([_p(1), _p(2)])
    assert batch_key([_p(1), _p(2)]) != batch_key([_p(2), _p(1)])


def test_sim_house_view_becomes_an_integer_reading() -> None:
    reading = reading_from_sim(
        {"soc": 0.5, "stored_wh": 2500.0, "pv_w": 600.0, "load_w": 200.0}, 900
    )
    assert (reading.soc_permille, reading.capacity_wh, reading.net_wh) == (500, 5000, 100)


def test_empty_battery_gives_zero_capacity_not_a_crash() -> None:
    reading = reading_from_sim({"soc": 0.0, "stored_wh": 0.0, "pv_w": 0, "load_w": 50}, 3600)
    assert (reading.soc_permille, reading.capacity_wh, reading.net_wh) == (0, 0, -50)


def test_agent_rules_round_trip_through_storage_with_big_prices() -> None:
    rules = AgentRules(800, Wei(10**21), 300, Wei(2 * 10**21), order_ttl_s=600, min_order_wh=2)
    assert rules_from_json(rules_to_json(rules)) == rules
    assert rules_from_json(None) is None


def test_static_keys_find_accounts_case_insensitively() -> None:
    from eth_account import Account

    account = Account.create()
    keys = StaticKeys([account])
    assert keys.key_for(account.address.lower()) is account
    assert keys.key_for("0x" + "00" * 20) is None


def test_undelivered_energy_is_what_each_side_traded_less_what_the_buyer_metered() -> None:
    def record(i: int, seller: str, buyer: str, amount: int, buyer_mwh: int | None) -> Any:
        return DeliveryRecord(i, buyer, seller, amount, 7, 0, 1, 2, Phase.RUNNING,
                              buyer_mwh=buyer_mwh)  # fmt: skip

    a, b, c = "0xAA", "0xBB", "0xCC"
    totals = undelivered([
        record(1, a, b, 500, None),  # not started: all 500 Wh to come
        record(2, a, c, 300, 120_500),  # 120 whole Wh arrived
        record(3, c, a, 50, 90_000),  # more metered than traded: nothing left, never negative
    ])
    assert totals == {"0xaa": (680, 0), "0xbb": (0, 500), "0xcc": (0, 180)}
