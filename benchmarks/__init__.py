"""Benchmarks for cme-async (``make bench``); not part of the package or the tests."""
