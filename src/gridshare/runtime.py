"""The composition root: builds the chain, the market and the services from Settings."""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from gridshare.chain import CompiledContract, EnergyMarket, Transactor, compile_contract
from gridshare.chain.connection import ChainConnection, connect_rpc, open_embedded
from gridshare.chain.deployment import Deployment, DeploymentUnreadable
from gridshare.chain.keystore import (
    KeystoreError,
    load_keystore,
    load_or_create_keystore,
)
from gridshare.chain.outbox import Outbox, OutboxEntry
from gridshare.config import DEVELOPMENT_PASSWORD, Settings
from gridshare.domain import WEI_PER_COIN
from gridshare.meters import ClockCounter, CommandCounter, CounterMarkFile
from gridshare.services.agents import KeyProvider
from gridshare.services.hashing import COSTS
from gridshare.storage import Database


@dataclass
class Runtime:
    """Everything a running server holds, built once by `build_runtime`."""

    settings: Settings
    chain: ChainConnection
    compiled: CompiledContract
    transactor: Transactor
    market: EnergyMarket
    operator: LocalAccount
    database: Database
    outbox: Outbox
    closers: list[Callable[[], None]] = field(default_factory=list)
    # Set by whoever runs the server before the app starts (`gridshare demo` does):
    key_provider: KeyProvider | None = None
    """Keys the auto-trading agents may sign with (None: the agents hold no keys)."""
    clock_s: Callable[[], float] = time.time
    """The clock the chain's blocks and the market engine follow (simulated time in a demo)."""
    started: str = ""
    """What this start did, in a sentence: a new market deployed, or the one in the data
    directory resumed, and the transactions a stop left open that it finished."""
    meter_counter: CommandCounter = field(default_factory=ClockCounter)
    """Counters of the commands sent to meters, shared by the market engine and the pages'
    readings (two counters in one process could give one meter the same number twice)."""

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run `closer` when the runtime closes (background services register here)."""
        self.closers.append(closer)

    def close(self) -> None:
        """Stop background work (last started, first stopped), then release storage and chain."""
        while self.closers:
            self.closers.pop()()
        self.database.close()
        self.chain.close()


KEYSTORE = "operator.keystore.json"
DATABASE = "gridshare.sqlite"
METER_COUNTER = "meter-counter.json"  # keeps command counters above any sent (keys.py)
CHAIN_DIR = "chain"  # the embedded chain's files (chain.connection.open_embedded)


class StartupError(Exception):
    """The server cannot start; the message says what to do."""


def _operator_key(settings: Settings) -> LocalAccount:
    """The operator's key, unlocked (made on the first start); a key still locked with the
    development default while a password is given says how to change it."""
    path = settings.data_dir / KEYSTORE
    try:
        return load_or_create_keystore(
            path, settings.development_password,
            scrypt_n=COSTS[settings.password_work].operator_scrypt_n,
        )
    except KeystoreError:
        if settings.operator_password is None:
            raise
        try:
            load_keystore(path, DEVELOPMENT_PASSWORD)
        except KeystoreError:
            pass
        else:
            command = Path(sys.executable).parent / "gridshare"  # this venv's, as docs say
            raise StartupError(
                f"{path.name} is locked with the public development password (this data "
                "directory was first started without --production): give it your own with "
                f"`{command} operator-password --data {settings.data_dir}`, then start again"
            ) from None
        raise StartupError(  # most often the environment file still has the old password
            f"the operator password given does not unlock {path} (wrong password or damaged "
            "file): set GRIDSHARE_OPERATOR_PASSWORD to it (after `gridshare "
            "operator-password`, to the new one; after a restore, to the one the key had when "
            "the backup was made), then start again"
        ) from None


def build_runtime(settings: Settings) -> Runtime:
    """Create or resume the data directory: operator key, chain, deployed market."""
    _check_restored_whole(settings)
    with ExitStack() as on_failure:
        node: ChainConnection | None = None
        if settings.chain_url is not None:  # checked first: a node that does not answer
            node = connect_rpc(settings.chain_url)  # (or the wrong one) leaves nothing behind
            on_failure.callback(node.close)
            _check_chain_id(settings, node)
        compiled = compile_contract()  # before anything is made: a failure leaves nothing
        tightened = _make_private(settings.data_dir)
        operator = _operator_key(settings)
        if node is None:
            treasury: dict[str, int] = {operator.address: settings.treasury_coins * WEI_PER_COIN}
            chain = open_embedded(settings.data_dir, settings.chain_id, treasury)
            on_failure.callback(chain.close)
        else:
            chain = node
        transactor = Transactor(chain.w3)
        market, deployed, new = _deployed_market(
            settings, chain.w3, compiled, transactor, operator
        )
        sent = int(chain.w3.eth.get_transaction_count(operator.address))
        after_deployment = sent > deployed.operator_nonce  # the server sent more since
        if after_deployment and not (settings.data_dir / DATABASE).exists():
            raise StartupError(_records_lost(settings, sent))
        database = Database(settings.data_dir / DATABASE)
        on_failure.callback(database.close)
        # every server-sent transaction is recorded before broadcast; finish what a crash
        # left open
        outbox = Outbox(database, transactor)
        _check_records_match_chain(settings, chain.w3, database, sent, after_deployment)
        finished = outbox.recover()
        runtime = Runtime(settings, chain, compiled, transactor, market.with_sender(outbox),
                          operator, database, outbox,
                          started=start_summary(settings, deployed, new, finished,
                                                tightened=tightened,
                                                timing=None if new else market.timing()),
                          meter_counter=ClockCounter(
                              mark=CounterMarkFile(settings.data_dir / METER_COUNTER)))
        on_failure.pop_all()
    return runtime


def _make_private(data_dir: Path) -> bool:
    """Create the data directory readable by this user only (it holds every meter's key and
    the residents' encrypted keys), or make an existing one so; True if it had to change."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = data_dir.stat().st_mode & 0o777
    if not mode & 0o077:
        return False
    data_dir.chmod(mode & 0o700)
    return True


def start_summary(
    settings: Settings, deployed: Deployment, new: bool, finished: list[OutboxEntry],
    *, tightened: bool = False, timing: tuple[int, int] | None = None,
) -> str:
    """What a start did, for `gridshare serve` to say: a new market, or the data directory's
    resumed, and the transactions the last stop left open that the outbox finished; and the
    settings given that only a first start uses, if they differ from the resumed market's
    (`timing`: its delivery window and settlement grace)."""
    if new:
        done = f"deployed a new market in block {deployed.block} of chain {settings.chain_id}"
    else:
        done = f"resumed the market in {settings.data_dir}"
    if finished:
        states = Counter(entry.state.value for entry in finished)
        told = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        done += (f"; finished {len(finished)} transaction(s) the last stop left unconfirmed"
                 f" ({told})")
    if tightened:
        done += "; made the data directory readable by this user only (it holds the meters' keys)"
    return done + "".join(f"; {notice}" for notice in _first_start_only(settings, timing))


def _first_start_only(settings: Settings, timing: tuple[int, int] | None) -> list[str]:
    """Settings given for a resumed market that only its first start uses."""
    if timing is None:
        return []
    given = settings.model_fields_set
    notices = [
        f"GRIDSHARE_{name.upper()}={getattr(settings, name)} is not used: the market's "
        f"{what} stays {kept} s, set at its first start"
        for name, what, kept in (("delivery_window_s", "delivery window", timing[0]),
                                 ("settle_grace_s", "settlement grace", timing[1]))
        if name in given and getattr(settings, name) != kept
    ]
    if "treasury_coins" in given and settings.chain_url is None:
        notices.append("GRIDSHARE_TREASURY_COINS is not used: the treasury was made when the "
                       "chain was")
    return notices


def _records_lost(settings: Settings, sent: int) -> str:
    return (
        f"{DATABASE} in {settings.data_dir} is missing or holds none of the {sent} transactions"
        " the operator has sent on this chain (logins, households and meters would be gone):"
        " restore it from the backup"
    )


def _check_records_match_chain(
    settings: Settings, w3: Web3, database: Database, sent: int, after_deployment: bool
) -> None:
    """The database and the chain must come from the same moment: the chain holds every
    block the database saw mined, and the database knows the operator's transactions.

    A chain cut short (a crash with part of its write-ahead log lost, an older copy) would
    silently take back confirmed trades; a database that lost its write-ahead log looks like
    a new village, with the chain's households and balances still there.
    """
    recorded, top = database.connection().execute(
        "SELECT COUNT(*), MAX(block_number) FROM chain_outbox WHERE chain_id = ?",
        (settings.chain_id,),
    ).fetchone()
    if after_deployment and recorded == 0:  # (the deployment is sent before the database exists)
        raise StartupError(_records_lost(settings, sent))
    head = int(w3.eth.block_number)
    if top is None or int(top) <= head:
        return
    if settings.chain_url is not None:  # a node may be catching up after a restart
        raise StartupError(
            f"the node at {settings.chain_url} is at block {head}, but {DATABASE} records"
            f" transactions mined up to block {top}: wait for the node to catch up (or check"
            " that --chain is the right node), then start again"
        )
    raise StartupError(
        f"the chain ends at block {head}, but {DATABASE} records transactions mined up to"
        f" block {top}: the chain's files are older than the database (cut short, or from"
        " another backup). Restore the whole data directory from one backup"
    )


def _check_chain_id(settings: Settings, node: ChainConnection) -> None:
    """The node answers, with the chain id the settings name; if not, say what to do."""
    try:
        chain_id = int(node.w3.eth.chain_id)
    except OSError as exc:  # requests' ConnectionError and timeouts are OSErrors
        raise StartupError(
            f"no chain node answers at {settings.chain_url}: start it, or check --chain "
            f"({type(exc).__name__})"
        ) from exc
    if chain_id != settings.chain_id:
        raise StartupError(
            f"the node at {settings.chain_url} has chain id {chain_id}, "
            f"settings say {settings.chain_id}"
        )


def _check_restored_whole(settings: Settings) -> None:
    """A directory with residents' data must still have the key and the market it was made with.

    Without them the server would make a new operator key or deploy a new market, and every
    household would find itself unregistered with nothing in its balance.
    """
    # the key is made before the chain, so a chain without it is not a first start cut
    # short: it is someone else's chain (`simulate --data`) or a restore without the key
    folder = settings.data_dir
    if (
        settings.chain_url is None
        and (folder / CHAIN_DIR).exists()
        and not (folder / KEYSTORE).exists()
    ):
        raise StartupError(
            f"{KEYSTORE} is missing from {folder}, which holds a chain: restore the key from "
            "the backup, or use an empty directory for a new market"
        )
    if not (settings.data_dir / DATABASE).exists():
        return  # a new village
    made_with = _deployed_chain_ids(folder)
    if settings.chain_id not in made_with and made_with:
        held = f"chain {made_with[0]}" if len(made_with) == 1 else (
            f"chains {', '.join(str(i) for i in made_with)}"
        )
        raise StartupError(
            f"{folder} holds the market of {held}, not of chain {settings.chain_id}: start it "
            f"with --chain-id {made_with[0]} (or GRIDSHARE_CHAIN_ID={made_with[0]})"
        )
    for name in (KEYSTORE, f"deployment-{settings.chain_id}.json"):
        if not (settings.data_dir / name).exists():
            raise StartupError(
                f"{name} is missing from {settings.data_dir}, which holds residents' data: "
                "restore it from the backup (without it a new market would start, and every "
                "balance would show 0)"
            )
    if settings.chain_url is None and not (folder / CHAIN_DIR).exists():
        # checked before the embedded chain would make a new, empty one in its place
        raise StartupError(
            f"{CHAIN_DIR}/ is missing from {folder}, which holds the market's records: restore "
            "the chain's files from the backup (or, if this village's chain is a node, start "
            "with --chain and its URL)"
        )


def _deployed_chain_ids(folder: Path) -> list[int]:
    """The chain ids the data directory holds a deployment record for, lowest first."""
    found = (re.fullmatch(r"deployment-(\d+)\.json", p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def _deployed_market(
    settings: Settings,
    w3: Web3,
    compiled: CompiledContract,
    transactor: Transactor,
    operator: LocalAccount,
) -> tuple[EnergyMarket, Deployment, bool]:
    """The market in the data directory, or a new one deployed now (the bool: new)."""
    path = settings.data_dir / f"deployment-{settings.chain_id}.json"
    try:
        saved = Deployment.load(path)
    except DeploymentUnreadable as exc:
        raise StartupError(f"{exc}: restore it from the backup") from exc
    if saved is not None and w3.eth.get_code(Web3.to_checksum_address(saved.address)):
        return EnergyMarket(w3, saved.address, compiled, transactor), saved, False
    if saved is not None and (settings.data_dir / DATABASE).exists():
        raise StartupError(
            f"the market {saved.address} in {path.name} is not on this chain: restore the "
            "chain's files from the backup, or point --chain at the node that holds it"
        )
    if w3.eth.get_balance(operator.address) == 0 and w3.eth.get_block("latest").get(
        "baseFeePerGas", 0
    ):
        raise StartupError(
            f"the operator account {operator.address} has no coins for gas on this chain: "
            "fund it (genesis allocation or a transfer), then start again"
        )
    market = EnergyMarket.deploy(
        transactor,
        compiled,
        operator,
        delivery_window=settings.delivery_window_s,
        settle_grace=settings.settle_grace_s,
    )
    deployment = Deployment(
        chain_id=settings.chain_id,
        address=market.address,
        source_hash=compiled.source_hash,
        block=int(w3.eth.block_number),
        operator_nonce=int(w3.eth.get_transaction_count(operator.address)),
    )
    deployment.save(path)
    return market, deployment, True
