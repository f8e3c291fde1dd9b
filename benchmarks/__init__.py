"""Benchmarks: spm against what an analyst would otherwise write (python -m benchmarks.run)."""
