"""Tests of the persistent embedded chain, its JSON-RPC dispatcher and web3 provider."""
