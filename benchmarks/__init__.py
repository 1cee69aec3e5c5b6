"""Benchmarks of the installed `jobwatch` against references measured in the same run.

Run `python benchmarks/run.py [NAME] [--quick] [--markdown]` from the repository root.
"""
