"""`gridshare demo`: the whole community on one machine, and the one-trade walk-through."""

from gridshare.demo.options import DemoOptions
from gridshare.demo.runner import run_demo
from gridshare.demo.walk import walk

__all__ = ["DemoOptions", "run_demo", "walk"]
