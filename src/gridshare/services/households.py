"""Operator use cases for households: register (chain + meter directory), top up, auto-trading."""

from __future__ import annotations

from dataclasses import replace

from eth_account.signers.local import LocalAccount
from web3 import Web3

from gridshare.chain.errors import ContractRevert, TransactionTimeout
from gridshare.chain.market import EnergyMarket
from gridshare.domain import coins_said
from gridshare.market import AgentRules
from gridshare.meters import MeterEntry
from gridshare.services.trading import TradingError
from gridshare.storage.households import HouseholdRecord, HouseholdRepository

# The lowest addresses are the EVM's precompiles (0x01, 0x02, ...), the zero address and burn
# addresses such as 0x…dEaD: nobody holds a key for any of them.
RESERVED_UP_TO = 0xFFFF


TREASURY_SHORT = "The treasury holds {coins} {symbol}, less than the top-up."


class HouseholdService:
    """Registers households on chain and keeps their meter entry and agent rules."""

    def __init__(
        self, market: EnergyMarket, operator: LocalAccount, repository: HouseholdRepository,
        coin_symbol: str = "coins",
    ) -> None:
        self.market = market
        self.operator = operator
        self.repository = repository
        self.coin_symbol = coin_symbol  # as the pages name the village's coin

    def register(
        self,
        name: str,
        account: str,
        house_id: int,
        meter: MeterEntry,
        auto_trading: AgentRules | None = None,
    ) -> HouseholdRecord:
        """Register `account` as house `house_id` on chain and store its meter entry.

        An account the chain already holds as house `house_id` whose record the database lost
        (a restore from a copy older than the chain's) is recorded again; nothing is sent
        unless its meter id changes, and a stopped household stays stopped.

        A registration sent but not confirmed (`TransactionTimeout`) is stored all the same and
        the timeout raised: it may still be mined, and the house then needs its entry.
        """
        if not name.strip():
            raise TradingError("bad_name", "A household needs a name.", "name")
        if not name.isprintable():
            raise TradingError(
                "bad_name", "A household name may not hold control or invisible characters.",
                "name",
            )
        if house_id <= 0:
            raise TradingError("bad_house_id", "House id must be 1 or more.", "house_id")
        if not Web3.is_address(account):
            raise TradingError("bad_account", "That is not an account address.", "account")
        if meter.house_id != house_id:
            raise TradingError(
                "meter_house", f"Meter {meter.meter_id} belongs to house {meter.house_id}.", "meter"
            )
        checksum = Web3.to_checksum_address(account)
        if int(checksum, 16) <= RESERVED_UP_TO:
            raise TradingError(
                "reserved_account",
                "That address (0x…0000 to 0x…ffff) is a precompile or a burn address that no"
                " key signs for: coins sent to it would be stuck.",
                "account",
            )
        if self.market.holds_code(checksum):  # the market's own address, or any contract
            raise TradingError(
                "contract_account",
                "That address is a contract, which cannot sign: coins sent to it would be stuck.",
                "account",
            )
        taken = self.repository.by_account(checksum)
        on_chain = self.market.household(checksum)
        # The one account the chain may already hold: this house's own, when the database has
        # lost its record (restored from a copy older than the chain's); it is recorded again.
        if taken is not None or (on_chain is not None and on_chain.house_id != house_id):
            where = f"house {taken.house_id}" if taken else "a registered household"
            raise TradingError("account_taken", f"That account is already {where}.", "account")
        same = name.strip().casefold()  # "Alice " and "ALICE" are Alice to a resident
        for other in self.repository.all():
            if other.house_id != house_id and other.name.strip().casefold() == same:
                raise TradingError("name_taken", f"{other.name!r} is house {other.house_id}.",
                                   "name")
        self._check_meter_free(house_id, meter)
        record = HouseholdRecord(
            house_id=house_id,
            name=name,
            account=checksum,
            meter_id=meter.meter_id,
            meter_url=meter.url,
            meter_key_hex=meter.key.hex,
            auto_trading=auto_trading,
        )
        if on_chain is not None and on_chain.meter_id == meter.meter_id:
            self.repository.save(record)  # on the chain as it should be: only its record
            return record
        try:
            self.market.register_household(self.operator, checksum, house_id, meter.meter_id)
            if on_chain is not None and not on_chain.active:  # registering let it trade again
                self.market.deactivate_household(self.operator, checksum)
        except ContractRevert as exc:
            raise TradingError.from_revert(exc) from exc
        except TransactionTimeout:
            # Sent, so it may still be mined; the house then needs its meter entry.
            self.repository.save(record)
            raise
        self.repository.save(record)
        return record

    def _check_meter_free(self, house_id: int, meter: MeterEntry) -> None:
        """One meter id, one household: the orchestrator finds a house's meter by its id, so a
        second house on it would have the first house's relay move its energy. (A second
        house at another's meter address is refused by that meter: commands name the meter.)"""
        for other in self.repository.all():
            if other.house_id != house_id and other.meter_id == meter.meter_id:
                raise TradingError(
                    "meter_taken", f"Meter {meter.meter_id} is house {other.house_id}'s meter.",
                    "meter_id",
                )

    def change_meter(self, house_id: int, url: str, key_hex: str | None) -> HouseholdRecord:
        """Point house `house_id` at its meter's new address, and at a replaced board's key
        (None keeps it); the meter id, which is on chain, stays."""
        record = self.repository.get(house_id)
        if record is None:
            raise TradingError("no_household", f"There is no house {house_id}.", "house_id")
        changed = replace(record, meter_url=url.rstrip("/"),
                          meter_key_hex=(key_hex or record.meter_key_hex).lower())  # fmt: skip
        self.repository.save(changed)
        return changed

    def deposit_for(self, account: str, wei: int) -> None:
        """Top up a household's market balance from the operator's treasury."""
        if wei <= 0:
            raise TradingError("bad_amount", "A top-up must be more than zero.", "wei")
        if self.market.household(account) is None:
            raise TradingError(
                "not_household", "This account is not a registered household.", "account"
            )
        held = self.treasury()
        if wei > held:
            raise TradingError(
                "treasury_short",
                TREASURY_SHORT.format(coins=coins_said(held), symbol=self.coin_symbol),
                "wei",
            )
        try:
            self.market.deposit_for(self.operator, Web3.to_checksum_address(account), wei)
        except ContractRevert as exc:
            raise TradingError.from_revert(exc) from exc

    def treasury(self) -> int:
        """Wei the operator's treasury holds for top-ups."""
        return int(self.market.w3.eth.get_balance(self.operator.address))

    def set_active(self, record: HouseholdRecord, active: bool) -> bool:
        """Stop a household from trading (`active` False) or let it trade again; whether a
        transaction was needed (it is already so: nothing is sent).

        A stopped household keeps its balances and login: it can still cancel its orders and
        withdraw, and its deliveries still settle; nobody can take or match its orders, and
        it can place none. Letting it trade again registers it again, as the same house."""
        current = self.market.household(record.account)
        if current is not None and current.active == active:
            return False
        try:
            if active:
                self.market.register_household(
                    self.operator, record.account, record.house_id, record.meter_id
                )
            else:
                self.market.deactivate_household(self.operator, record.account)
        except ContractRevert as exc:
            raise TradingError.from_revert(exc) from exc
        return True

    def set_auto_trading(self, house_id: int, rules: AgentRules | None) -> None:
        """Switch a household's trading agent on (rules) or off (None)."""
        if not self.repository.set_auto_trading(house_id, rules):
            raise TradingError("no_household", f"There is no house {house_id}.", "house_id")

    def all(self) -> list[HouseholdRecord]:
        return self.repository.all()
