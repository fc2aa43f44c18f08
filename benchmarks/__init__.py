"""Benchmarks run by `make bench` (speed goals as ratios against references in the same run)."""
