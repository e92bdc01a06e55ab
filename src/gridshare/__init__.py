"""gridshare: peer-to-peer energy trading for off-grid solar microgrids."""

import os

# Keccak-256 from safe-pysha3's C code rather than eth-hash's first choice, pycryptodome, whose
# per-call overhead is ~10x (2 vs 21 us here); py-evm hashes ~100 times per transaction (trie
# nodes, addresses, receipts). eth-hash picks its backend at the first hash, so this must run
# before any: it does, as every gridshare module imports this package first. An explicit
# ETH_HASH_BACKEND in the environment wins.
os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

__version__ = "0.1.0"
