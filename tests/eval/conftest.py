"""Fixtures for the eval tests; the scripted server lives in ``scripted.py``."""

from tests.eval.scripted import server, write_suite

__all__ = ["server", "write_suite"]
