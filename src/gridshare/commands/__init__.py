"""Sub-commands of the `gridshare` console script (see gridshare.cli)."""
