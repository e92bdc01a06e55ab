"""The receipts the chain layer reads as JSON equal web3's own, on every chain backend.

The Transactor reads receipts with `eth_getTransactionReceipt` and formats them itself
(`chain/receipts.py`); the market decodes its events from them. Here every transaction of a
trade's life (deposit, order, take, match, settle, a deployment) is read both ways.
"""

from __future__ import annotations

from typing import Any

from hexbytes import HexBytes

from gridshare.chain import EnergyMarket, Transactor
from gridshare.chain.receipts import receipt_from_json
from gridshare.domain import MatchProposal
from tests.integration.contract.conftest import DELIVERY_WINDOW, PRICE, SETTLE_GRACE, World


def _plain(value: Any) -> Any:
    """web3's AttributeDicts and lists as plain dicts and lists, to compare."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def test_receipts_read_as_json_equal_web3s(world: World, compiled) -> None:  # type: ignore[no-untyped-def]
    market, w3 = world.market, world.chain.w3
    sent: list[HexBytes] = []

    def recording(sender: Any) -> None:
        transact = sender.transact

        def record(*args: Any, **kwargs: Any) -> Any:
            receipt = transact(*args, **kwargs)
            sent.append(HexBytes(receipt["transactionHash"]))
            return receipt

        sender.transact = record

    recording(market.sender)
    try:
        offer = world.offer(amount_wh=30)
        taken = market.take(world.buyer, offer.id, 10)
        demand = world.demand(amount_wh=10)
        matched = market.match_batch(
            world.operator, [MatchProposal(demand.id, offer.id, 10, PRICE)]
        )
        market.settle_batch(world.operator, [(taken.id, 7), (matched[0].id, 10)])
    finally:
        del market.sender.transact
    transactor = Transactor(w3)
    recording(transactor)
    deployed = EnergyMarket.deploy(
        transactor, compiled, world.stranger,
        delivery_window=DELIVERY_WINDOW, settle_grace=SETTLE_GRACE,
    )  # fmt: skip
    assert len(sent) == 6
    read = {}
    for tx_hash in sent:
        raw = w3.provider.make_request("eth_getTransactionReceipt", [tx_hash.to_0x_hex()])
        read[tx_hash] = receipt_from_json(raw["result"])
        assert _plain(read[tx_hash]) == _plain(w3.eth.get_transaction_receipt(tx_hash))
    settled = market.events(read[sent[4]], "DeliverySettled")
    assert [e["args"]["delivered_wh"] for e in settled] == [7, 10]
    assert read[sent[5]]["contractAddress"] == deployed.address
