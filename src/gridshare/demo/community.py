"""The demo community: ten households on chain, their meters, logins and server-held keys.

Created once per data directory (through the same account and household services the
operator area uses) and resumed afterwards. Passwords exist only in the creation run's
output: the users table keeps argon2id hashes, and the agents' keys are kept in keystores
under `demo-keys/`, encrypted with the development operator password (demo data only).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from eth_account.signers.local import LocalAccount

from gridshare.chain.keystore import load_keystore, save_keystore
from gridshare.domain import WEI_PER_COIN
from gridshare.meters import MeterEntry
from gridshare.runtime import CHAIN_DIR, DATABASE, KEYSTORE, Runtime
from gridshare.services.accounts import AccountService
from gridshare.services.agents import StaticKeys
from gridshare.services.hashing import COSTS
from gridshare.services.households import HouseholdService
from gridshare.simulation.traders import default_rules
from gridshare.storage.households import HouseholdRepository
from gridshare.storage.users import UserStore

MARKER = "demo.json"
NOT_STARTED = "not started"  # the marker's stage between claiming a directory and _create
KEYS_DIR = "demo-keys"
KEY_SCRYPT_N = 2**12  # demo keys only: quick to unlock on every start
TOP_UP_COINS = 500
RULES_SEED = 1


class DemoSetupError(Exception):
    """The data directory holds no usable demo community; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Login:
    """A resident login created in this run (the only time its password is known)."""

    house_id: int
    username: str
    password: str
    has_pv: bool


@dataclass(frozen=True, slots=True)
class DemoCommunity:
    """The households' signing keys for the agents, and the logins created in this run."""

    keys: StaticKeys
    new_logins: tuple[Login, ...]


def username(house_id: int) -> str:
    """The resident login of a house: house-01, house-02, ..."""
    return f"house-{house_id:02d}"


def is_demo_dir(data_dir: Path) -> bool:
    """True if `data_dir` was created by `gridshare demo` (safe to delete with --fresh)."""
    return (data_dir / MARKER).is_file()


def server_state(data_dir: Path) -> list[str]:
    """The gridshare server files `data_dir` holds (a chain, a database, an operator key)."""
    held = [f"{CHAIN_DIR}/"] if (data_dir / CHAIN_DIR).exists() else []
    held += [name for name in (DATABASE, KEYSTORE) if (data_dir / name).exists()]
    return held + sorted(p.name for p in data_dir.glob("deployment-*.json"))


def claim(data_dir: Path, *, name: str) -> bool:
    """Mark `data_dir` as the demo's before anything else is written there.

    Returns True if it already holds a community (or the start of one) to resume. The marker
    comes first so a set-up that fails half-way leaves a directory `--fresh` may delete.
    """
    marker = data_dir / MARKER
    if marker.exists():
        return _read_marker(marker).get("stage") != NOT_STARTED
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_marker(marker, name, complete=False, stage=NOT_STARTED)
    return False


def prepare(
    runtime: Runtime, entries: Sequence[MeterEntry], pv_houses: set[int], *, name: str
) -> DemoCommunity:
    """Create the community on first run; on later runs load its keys and meter URLs."""
    data_dir = runtime.settings.data_dir
    marker = data_dir / MARKER
    state = _read_marker(marker) if marker.exists() else {"stage": NOT_STARTED}
    if state.get("complete"):
        return DemoCommunity(_resume(runtime, entries), ())
    if state.get("stage") != NOT_STARTED:
        raise DemoSetupError(
            f"{data_dir} holds a demo community whose set-up was interrupted: "
            "start over with --fresh"
        )
    if (data_dir / KEYS_DIR).exists():
        raise DemoSetupError(f"{data_dir} is not a complete demo community: use --fresh")
    _write_marker(marker, name, complete=False)
    community = _create(runtime, entries, pv_houses)
    _write_marker(marker, name, complete=True)
    return community


def _read_marker(marker: Path) -> dict[str, object]:
    try:
        state = json.loads(marker.read_text(encoding="utf-8"))
    except ValueError:  # not JSON, or not UTF-8
        state = None
    if not isinstance(state, dict):
        raise DemoSetupError(f"{marker} is damaged: start over with --fresh")
    return state


def _write_marker(marker: Path, name: str, *, complete: bool, stage: str | None = None) -> None:
    state: dict[str, object] = {"scenario": name, "complete": complete}
    if stage is not None:
        state["stage"] = stage
    marker.write_text(json.dumps(state), encoding="utf-8")


def _create(
    runtime: Runtime, entries: Sequence[MeterEntry], pv_houses: set[int]
) -> DemoCommunity:
    accounts = AccountService(
        UserStore(runtime.database), cost=COSTS[runtime.settings.password_work]
    )
    households = HouseholdService(
        runtime.market, runtime.operator, HouseholdRepository(runtime.database),
        runtime.settings.coin_symbol,
    )
    rules = default_rules([e.house_id for e in entries], RULES_SEED, WEI_PER_COIN // 1000)
    keys = StaticKeys()
    logins: list[Login] = []
    for entry in entries:
        hid = entry.house_id
        password = secrets.token_urlsafe(9)
        created = accounts.create_resident(username(hid), password, hid, wallet_address=None)
        login = accounts.login(username(hid), password)
        assert login is not None and login.signer is not None
        households.register(f"House {hid}", created.user.address, hid, entry, rules[hid])
        households.deposit_for(created.user.address, TOP_UP_COINS * WEI_PER_COIN)
        _save_key(runtime, hid, login.signer)
        keys.add(login.signer)
        logins.append(Login(hid, username(hid), password, hid in pv_houses))
    return DemoCommunity(keys, tuple(logins))


def _resume(runtime: Runtime, entries: Sequence[MeterEntry]) -> StaticKeys:
    repository = HouseholdRepository(runtime.database)
    keys = StaticKeys()
    for entry in entries:
        record = repository.get(entry.house_id)
        path = _key_path(runtime, entry.house_id)
        if record is None or not path.exists():
            raise DemoSetupError(f"house {entry.house_id} is missing: start over with --fresh")
        if record.meter_url != entry.url:  # started with another --meter-base-port
            repository.save(replace(record, meter_url=entry.url))
        keys.add(load_keystore(path, runtime.settings.development_password))
    return keys


def _key_path(runtime: Runtime, house_id: int) -> Path:
    return runtime.settings.data_dir / KEYS_DIR / f"{username(house_id)}.json"


def _save_key(runtime: Runtime, house_id: int, signer: LocalAccount) -> None:
    save_keystore(
        _key_path(runtime, house_id),
        signer,
        runtime.settings.development_password,
        scrypt_n=KEY_SCRYPT_N,
    )
