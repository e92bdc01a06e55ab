"""The EVM rules of the embedded chain: Prague with a base fee pinned to zero."""

from __future__ import annotations

from typing import Any

from eth.abc import BlockHeaderAPI
from eth.chains.base import Chain
from eth.consensus.applier import ConsensusApplier
from eth.consensus.noproof import NoProofConsensus
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.headers import create_prague_header_from_parent

FORK_NAME = "prague"
GAS_LIMIT = 30_000_000


def _zero_fee_header_from_parent(
    parent_header: BlockHeaderAPI | None, **header_params: Any
) -> BlockHeaderAPI:
    header: BlockHeaderAPI = create_prague_header_from_parent(parent_header, **header_params)
    return header.copy(base_fee_per_gas=0)


class ZeroFeePragueVM(PragueVM):
    """Prague (runs Shanghai-targeted bytecode) whose base fee is always 0.

    EIP-1559 raises a zero base fee to 1 after any block more than half full; a private
    community chain must never start charging residents, so the base fee stays at 0.
    """

    create_header_from_parent = staticmethod(_zero_fee_header_from_parent)

    @classmethod
    def validate_gas(cls, header: BlockHeaderAPI, parent_header: BlockHeaderAPI) -> None:
        if header.gas_limit != parent_header.gas_limit:
            raise ValueError("the embedded chain keeps a constant gas limit")
        if header.base_fee_per_gas != 0:
            raise ValueError("the embedded chain's base fee is always 0")


def chain_class(chain_id: int) -> type[Chain]:
    """A py-evm Chain class for the given chain id, running the zero-fee Prague VM."""
    vm_configuration = ConsensusApplier(NoProofConsensus).amend_vm_configuration(
        ((0, ZeroFeePragueVM),)
    )
    return type(
        "GridshareChain",
        (Chain,),
        {"chain_id": chain_id, "vm_configuration": vm_configuration},
    )
