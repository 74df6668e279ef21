"""Benchmarks: each measures our path against a peer in the same run and reports the ratio.

Installed with the library as `portalit.benchmarks` so that `portalit bench WHAT` finds
bench_WHAT.py as a module; each file also runs as a script (`python benchmarks/bench_chat.py`).
"""
