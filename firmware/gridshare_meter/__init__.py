"""Portable meter logic (MicroPython and CPython)."""
