"""Runs first at power-up: nothing but garbage collection; main.py does the work."""

import gc

gc.collect()
