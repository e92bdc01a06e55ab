"""The one typed wrapper for the EnergyMarket contract: domain dataclasses in and out."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.types import EventData, RPCEndpoint, TxReceipt

from gridshare.chain.abi import AbiEvent, AbiFunction, as_bytes, checksummed
from gridshare.chain.compiler import CompiledContract
from gridshare.chain.errors import ChainError
from gridshare.chain.transactor import RpcFailure, Sender, Transactor, TxRequest
from gridshare.domain import (
    Address,
    Balances,
    Delivery,
    DeliveryStatus,
    Household,
    MatchProposal,
    Order,
    OrderStatus,
    Settlement,
    Side,
    Wei,
    Wh,
)

_VIEW_ATTEMPTS = 4
_VIEW_RETRY_S = 0.05
_HEAD_MOVING = re.compile(r"BlockOutOfRange|header not found", re.IGNORECASE)


_LOG_RANGE = 2_000  # blocks per eth_getLogs of `changes` (halved when a node refuses)
_LIMIT_EXCEEDED = -32005


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One order event in chain order: placed, filled (with the energy left) or cancelled."""

    order_id: int
    placed: Order | None = None
    """OrderPlaced: the order as placed."""
    remaining_wh: Wh | None = None
    """OrderFilled: the order's energy left after the fill. Neither: OrderCancelled."""


@dataclass(frozen=True)
class MarketChanges:
    """What some blocks changed, from their events: enough to keep a view of the book."""

    orders: tuple[OrderEvent, ...]
    accounts: frozenset[str]  # households registered or deactivated (checksummed)


@dataclass(frozen=True)
class Limits:
    """The contract's fixed bounds."""

    max_amount_wh: int
    max_price_per_wh: int
    max_batch: int


class EnergyMarket:
    """Typed access to one deployed EnergyMarket; every write is signed by the given account."""

    def __init__(
        self,
        w3: Web3,
        address: str,
        compiled: CompiledContract,
        transactor: Transactor,
        sender: Sender | None = None,
    ):
        self.w3 = w3
        self.checksum: ChecksumAddress = Web3.to_checksum_address(address)
        self.address = Address(self.checksum)
        self.contract: Contract = w3.eth.contract(address=self.checksum, abi=list(compiled.abi))
        self.transactor = transactor
        # writes go through `sender`: the Transactor itself, or an Outbox that records them
        self.sender: Sender = sender if sender is not None else transactor
        functions = {
            item["name"]: AbiFunction.from_abi(item)
            for item in compiled.abi
            if item.get("type") == "function"
        }
        self._views = {
            item["name"]: functions[item["name"]]
            for item in compiled.abi
            if item.get("type") == "function" and item.get("stateMutability") in ("view", "pure")
        }
        self._functions = functions
        self._events = {
            item["name"]: AbiEvent.from_abi(item)
            for item in compiled.abi
            if item.get("type") == "event"
        }
        self._events_by_topic = {event.topic: event for event in self._events.values()}

    # -- deployment ----------------------------------------------------------

    @classmethod
    def deploy(
        cls,
        transactor: Transactor,
        compiled: CompiledContract,
        operator: LocalAccount,
        *,
        delivery_window: int,
        settle_grace: int,
    ) -> EnergyMarket:
        """Deploy a new market whose operator is `operator`."""
        factory = transactor.w3.eth.contract(abi=list(compiled.abi), bytecode=compiled.bytecode)
        data = factory.constructor(delivery_window, settle_grace).data_in_transaction
        receipt = transactor.transact(operator, TxRequest(to=None, data=as_bytes(data)))
        address = receipt["contractAddress"]
        if address is None:
            raise RuntimeError("deployment receipt has no contract address")
        return cls(transactor.w3, address, compiled, transactor)

    # -- reads ---------------------------------------------------------------

    @property
    def limits(self) -> Limits:
        f = self.contract.functions
        return Limits(
            max_amount_wh=int(f.MAX_AMOUNT_WH().call()),
            max_price_per_wh=int(f.MAX_PRICE_PER_WH().call()),
            max_batch=int(f.MAX_BATCH().call()),
        )

    def operator(self) -> Address:
        return Address(self.contract.functions.operator().call())

    def pending_operator(self) -> Address:
        return Address(self.contract.functions.pending_operator().call())

    def timing(self) -> tuple[int, int]:
        """(delivery window, settlement grace) in seconds."""
        return int(self._view("delivery_window")[0]), int(self._view("settle_grace")[0])

    def household(self, account: str) -> Household | None:
        """The household registered at `account`, or None."""
        house_id, meter_id, active, registered = self._view(
            "households", Web3.to_checksum_address(account)
        )
        if not registered:
            return None
        return Household(Address(Web3.to_checksum_address(account)), house_id, meter_id, active)

    def account_of_house(self, house_id: int) -> Address | None:
        (account,) = self._view("house_account", house_id)
        return None if int(account, 16) == 0 else Address(account)

    def head(self) -> tuple[int, bytes]:
        """Number and hash of the chain's latest block."""
        block = self.transactor.rpc("eth_getBlockByNumber", ["latest", False])
        return int(block["number"], 16), bytes.fromhex(block["hash"][2:])

    def block_hash(self, number: int) -> bytes | None:
        """Hash of the canonical block `number`, or None if there is none."""
        block = self.transactor.rpc("eth_getBlockByNumber", [hex(number), False])
        return None if block is None else bytes.fromhex(block["hash"][2:])

    def changes(self, from_block: int, to_block: int) -> MarketChanges:
        """Order and household events in blocks from..to, decoded, in chain order.

        Read in ranges of blocks; a range the node refuses as too many logs is halved.
        """
        names = ("OrderPlaced", "OrderFilled", "OrderCancelled", "HouseholdRegistered",
                 "HouseholdDeactivated")  # fmt: skip
        topics = [[self.topic(name) for name in names]]
        orders: list[OrderEvent] = []
        accounts: set[str] = set()
        start, span = from_block, _LOG_RANGE
        while start <= to_block:
            end = min(to_block, start + span - 1)
            try:
                logs = self.transactor.rpc(
                    "eth_getLogs",
                    [{"address": self.checksum, "fromBlock": hex(start), "toBlock": hex(end),
                      "topics": topics}],
                )  # fmt: skip
            except RpcFailure as exc:
                if exc.code != _LIMIT_EXCEEDED or end == start:
                    raise
                span = max(1, (end - start + 1) // 2)
                continue
            for log in logs:
                self._collect(log, orders, accounts)
            start = end + 1
        return MarketChanges(tuple(orders), frozenset(accounts))

    def _collect(self, log: dict[str, Any], orders: list[OrderEvent], accounts: set[str]) -> None:
        topics = [as_bytes(t) for t in log["topics"]]
        event = self._events_by_topic[topics[0]]  # the filter asked for these events only
        args = event.decode(topics, as_bytes(log["data"]))
        name = event.name
        if name == "OrderPlaced":
            order = Order(
                id=args["order_id"],
                owner=Address(Web3.to_checksum_address(args["owner"])),
                side=Side.BUY if args["is_buy"] else Side.SELL,
                amount_wh=Wh(args["amount_wh"]),
                remaining_wh=Wh(args["amount_wh"]),
                price_per_wh=Wei(args["price_per_wh"]),
                expires_at=args["expires_at"],
                status=OrderStatus.OPEN,
            )
            orders.append(OrderEvent(order.id, placed=order))
        elif name == "OrderFilled":
            orders.append(OrderEvent(args["order_id"], remaining_wh=Wh(args["remaining_wh"])))
        elif name == "OrderCancelled":
            orders.append(OrderEvent(args["order_id"]))
        else:
            accounts.add(Web3.to_checksum_address(args["account"]))

    def balances(self, account: str) -> Balances:
        available, locked, escrowed = self._view("balances_of", Web3.to_checksum_address(account))
        return Balances(Wei(available), Wei(locked), Wei(escrowed))

    def order_count(self) -> int:
        return int(self._view("order_count")[0])

    def delivery_count(self) -> int:
        return int(self._view("delivery_count")[0])

    def order(self, order_id: int) -> Order | None:
        """The order with `order_id`, or None if there is none."""
        owner, is_buy, status, amount, remaining, price, expires = self._view("orders", order_id)
        if status == 0:
            return None
        return Order(
            id=order_id,
            owner=Address(owner),
            side=Side.BUY if is_buy else Side.SELL,
            amount_wh=Wh(amount),
            remaining_wh=Wh(remaining),
            price_per_wh=Wei(price),
            expires_at=int(expires),
            status=OrderStatus(status),
        )

    def delivery(self, delivery_id: int) -> Delivery | None:
        """The delivery with `delivery_id`, or None if there is none."""
        buyer, seller, status, amount, price, deadline, delivered = self._view(
            "deliveries", delivery_id
        )
        if status == 0:
            return None
        return Delivery(
            id=delivery_id,
            buyer=Address(buyer),
            seller=Address(seller),
            amount_wh=Wh(amount),
            price_per_wh=Wei(price),
            deadline=int(deadline),
            status=DeliveryStatus(status),
            delivered_wh=Wh(delivered),
        )

    def holds_code(self, account: str) -> bool:
        """True when `account` is a contract (this market, or any other): it cannot sign."""
        params = [Web3.to_checksum_address(account), "latest"]
        response = self.w3.provider.make_request(RPCEndpoint("eth_getCode"), params)
        if response.get("error") is not None:
            raise ChainError(f"eth_getCode: {response['error']}")
        return str(response.get("result", "0x")) not in ("0x", "0x0", "")

    def contract_balance(self) -> Wei:
        return Wei(self.w3.eth.get_balance(self.checksum))

    # -- operator ------------------------------------------------------------

    def transfer_operator(
        self, operator: LocalAccount, new_operator: str, *, key: str | None = None
    ) -> None:
        self._send(operator, "transfer_operator", Web3.to_checksum_address(new_operator), key=key)

    def accept_operator(self, new_operator: LocalAccount, *, key: str | None = None) -> None:
        self._send(new_operator, "accept_operator", key=key)

    def set_timing(
        self,
        operator: LocalAccount,
        delivery_window: int,
        settle_grace: int,
        *,
        key: str | None = None,
    ) -> None:
        self._send(operator, "set_timing", delivery_window, settle_grace, key=key)

    def register_household(
        self,
        operator: LocalAccount,
        account: str,
        house_id: int,
        meter_id: int,
        *,
        key: str | None = None,
    ) -> Household:
        """Register (or re-activate) a household."""
        self._send(
            operator,
            "register_household",
            Web3.to_checksum_address(account),
            house_id,
            meter_id,
            key=key,
        )
        return Household(Address(Web3.to_checksum_address(account)), house_id, meter_id, True)

    def deactivate_household(
        self, operator: LocalAccount, account: str, *, key: str | None = None
    ) -> None:
        self._send(operator, "deactivate_household", Web3.to_checksum_address(account), key=key)

    # -- balances ------------------------------------------------------------

    def deposit(self, account: LocalAccount, amount: int, *, key: str | None = None) -> None:
        self._send(account, "deposit", value=amount, key=key)

    def deposit_for(
        self, operator: LocalAccount, account: str, amount: int, *, key: str | None = None
    ) -> None:
        """Operator top-up of `account` from the treasury."""
        self._send(
            operator, "deposit_for", Web3.to_checksum_address(account), value=amount, key=key
        )

    def withdraw(self, account: LocalAccount, amount: int, *, key: str | None = None) -> None:
        self._send(account, "withdraw", amount, key=key)

    # -- trading -------------------------------------------------------------

    def place_order(
        self,
        account: LocalAccount,
        side: Side,
        amount_wh: int,
        price_per_wh: int,
        expires_at: int,
        *,
        key: str | None = None,
    ) -> Order:
        """Post an order; returns it as the contract recorded it."""
        receipt = self._send(
            account, "place_order", side is Side.BUY, amount_wh, price_per_wh, expires_at, key=key
        )
        (event,) = self.events(receipt, "OrderPlaced")
        args = event["args"]
        return Order(
            id=int(args["order_id"]),
            owner=Address(args["owner"]),
            side=Side.BUY if args["is_buy"] else Side.SELL,
            amount_wh=Wh(args["amount_wh"]),
            remaining_wh=Wh(args["amount_wh"]),
            price_per_wh=Wei(args["price_per_wh"]),
            expires_at=int(args["expires_at"]),
            status=OrderStatus.OPEN,
        )

    def cancel_order(self, account: LocalAccount, order_id: int, *, key: str | None = None) -> Wh:
        """Cancel an order; returns the Wh that were still open."""
        receipt = self._send(account, "cancel_order", order_id, key=key)
        (event,) = self.events(receipt, "OrderCancelled")
        return Wh(event["args"]["remaining_wh"])

    def take(
        self, account: LocalAccount, order_id: int, amount_wh: int, *, key: str | None = None
    ) -> Delivery:
        """Take part or all of an order at its price; returns the delivery created."""
        receipt = self._send(account, "take", order_id, amount_wh, key=key)
        (delivery,) = self._created_deliveries(receipt)
        return delivery

    def match(
        self, operator: LocalAccount, proposal: MatchProposal, *, key: str | None = None
    ) -> Delivery:
        """Execute one operator match; returns the delivery created."""
        receipt = self._send(
            operator,
            "match",
            proposal.buy_id,
            proposal.sell_id,
            proposal.amount_wh,
            proposal.price_per_wh,
            key=key,
        )
        (delivery,) = self._created_deliveries(receipt)
        return delivery

    def match_batch(
        self,
        operator: LocalAccount,
        proposals: Sequence[MatchProposal],
        *,
        key: str | None = None,
    ) -> list[Delivery]:
        """Execute up to MAX_BATCH matches atomically; returns the deliveries created, in order."""
        items = [(p.buy_id, p.sell_id, p.amount_wh, p.price_per_wh) for p in proposals]
        return self._created_deliveries(self._send(operator, "match_batch", items, key=key))

    def settle(
        self,
        operator: LocalAccount,
        delivery_id: int,
        delivered_wh: int,
        *,
        key: str | None = None,
    ) -> Settlement:
        """Settle a delivery on the metered energy; returns what moved."""
        receipt = self._send(operator, "settle", delivery_id, delivered_wh, key=key)
        (settlement,) = self._settlements(receipt)
        return settlement

    def settle_batch(
        self,
        operator: LocalAccount,
        settlements: Sequence[tuple[int, int]],
        *,
        key: str | None = None,
    ) -> list[Settlement]:
        """Settle up to MAX_BATCH (delivery id, delivered Wh) pairs atomically."""
        receipt = self._send(operator, "settle_batch", [tuple(s) for s in settlements], key=key)
        return self._settlements(receipt)

    def expire(self, account: LocalAccount, delivery_id: int, *, key: str | None = None) -> Wei:
        """Expire an unsettled delivery past deadline + grace; returns the buyer's refund."""
        receipt = self._send(account, "expire", delivery_id, key=key)
        (event,) = self.events(receipt, "DeliveryExpired")
        return Wei(event["args"]["refunded"])

    # -- events --------------------------------------------------------------

    def topic(self, name: str) -> str:
        """The topic (0x-hex) that the market's event `name` logs under, for log filters."""
        return "0x" + self._events[name].topic.hex()

    def events(self, receipt: TxReceipt, name: str | None = None) -> list[EventData]:
        """The market's decoded events in a receipt, optionally only those called `name`
        (addresses checksummed, as web3 gives them)."""
        return self.decoded(receipt["logs"], name)

    def decoded(self, logs: Sequence[Any], name: str | None = None) -> list[EventData]:
        """The market's events among `logs` (a receipt's, or `eth_getLogs`' through web3),
        decoded, optionally only those called `name`."""
        decoded: list[EventData] = []
        for log in logs:
            if Web3.to_checksum_address(log["address"]) != self.checksum or not log["topics"]:
                continue
            topics = [bytes(t) for t in log["topics"]]
            event = self._events_by_topic.get(topics[0])
            if event is None or (name is not None and event.name != name):
                continue
            args = {k: checksummed(v) for k, v in event.decode(topics, bytes(log["data"])).items()}
            decoded.append(EventData(
                args=args, event=event.name, logIndex=log["logIndex"],
                transactionIndex=log["transactionIndex"], transactionHash=log["transactionHash"],
                address=log["address"], blockHash=log["blockHash"],
                blockNumber=log["blockNumber"],
            ))  # fmt: skip
        return decoded

    def _created_deliveries(self, receipt: TxReceipt) -> list[Delivery]:
        return [
            Delivery(
                id=int(e["args"]["delivery_id"]),
                buyer=Address(e["args"]["buyer"]),
                seller=Address(e["args"]["seller"]),
                amount_wh=Wh(e["args"]["amount_wh"]),
                price_per_wh=Wei(e["args"]["price_per_wh"]),
                deadline=int(e["args"]["deadline"]),
                status=DeliveryStatus.PENDING,
                delivered_wh=Wh(0),
            )
            for e in self.events(receipt, "DeliveryCreated")
        ]

    def _settlements(self, receipt: TxReceipt) -> list[Settlement]:
        return [
            Settlement(
                delivery_id=int(e["args"]["delivery_id"]),
                delivered_wh=Wh(e["args"]["delivered_wh"]),
                paid=Wei(e["args"]["paid"]),
                refunded=Wei(e["args"]["refunded"]),
            )
            for e in self.events(receipt, "DeliverySettled")
        ]

    def _view(self, fn: str, *args: Any) -> tuple[Any, ...]:
        """Call a view function straight through the provider (no web3 formatting layers).

        A node producing a block can briefly fail to resolve "latest" (Anvil with a block
        time: "BlockOutOfRangeError: block height is N but requested was N-1"; Geth: "header
        not found"); the read is repeated a few times before that counts as an error.
        """
        view = self._views[fn]
        params = [{"to": self.address, "data": "0x" + view.encode(args).hex()}, "latest"]
        for attempt in range(_VIEW_ATTEMPTS):
            response = self.w3.provider.make_request(RPCEndpoint("eth_call"), params)
            error = response.get("error")
            if error is None:
                return view.decode(bytes.fromhex(str(response["result"]).removeprefix("0x")))
            message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
            if attempt + 1 == _VIEW_ATTEMPTS or not _HEAD_MOVING.search(message):
                break
            time.sleep(_VIEW_RETRY_S)
        raise ChainError(f"{fn}: {error}")

    def with_sender(self, sender: Sender) -> EnergyMarket:
        """The same market, with writes sent through `sender` (e.g. the outbox)."""
        market = copy.copy(self)
        market.sender = sender
        return market

    def _send(
        self, signer: LocalAccount, fn: str, *args: Any, value: int = 0, key: str | None = None
    ) -> TxReceipt:
        data = self._functions[fn].encode(args)  # ABI prepared once, not per call
        return self.sender.transact(signer, TxRequest(self.address, data, value), key=key)
