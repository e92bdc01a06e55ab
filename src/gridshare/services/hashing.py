"""How hard passwords and chain keys are hashed: the full cost, or a light one for tests.

The light cost exists only so that the test suite, which logs in and registers houses
hundreds of times, does not spend most of its time in argon2 and scrypt. It runs the same code
with smaller parameters, and production settings refuse it (`Settings`). A hash or keystore
records its own parameters, so one made light still opens at full cost and the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from argon2 import PasswordHasher

from gridshare.chain.keystore import OPERATOR_SCRYPT_N

HashingWork = Literal["full", "light"]

# scrypt N for residents' keystores (r=8, p=1, 64 MiB): 0.17-0.22 s on the x86 build host,
# so about 1.1 s on a Raspberry Pi 4 assuming it is 6x slower (docs/keys.md).
RESIDENT_SCRYPT_N = 2**16


@dataclass(frozen=True, slots=True)
class HashingCost:
    """scrypt N for residents' and the operator's keystores, and argon2id's parameters."""

    resident_scrypt_n: int
    operator_scrypt_n: int
    argon2_time_cost: int
    argon2_memory_kib: int
    argon2_parallelism: int

    def password_hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.argon2_time_cost,
            memory_cost=self.argon2_memory_kib,
            parallelism=self.argon2_parallelism,
        )


_DEFAULT = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
COSTS: Mapping[HashingWork, HashingCost] = MappingProxyType({
    "full": HashingCost(
        RESIDENT_SCRYPT_N, OPERATOR_SCRYPT_N,
        _DEFAULT.time_cost, _DEFAULT.memory_cost, _DEFAULT.parallelism,
    ),
    "light": HashingCost(2**10, 2**10, 1, 1024, 1),
})
