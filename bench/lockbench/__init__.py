"""Pieces of the lockgate benchmark (bench/run.py puts bench/ on sys.path)."""
