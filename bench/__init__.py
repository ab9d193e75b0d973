"""Benchmarks: ``python -m bench.run`` (throughput beside baselines), ``python -m bench.load``."""
