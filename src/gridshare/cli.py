"""The `gridshare` console script."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run one sub-command."""
    parser = argparse.ArgumentParser(prog="gridshare")
    parser.parse_args(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
