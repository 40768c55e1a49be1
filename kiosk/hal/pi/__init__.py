"""Backends that only run on the Raspberry Pi: their libraries come from the Pi's apt archive, not PyPI."""
