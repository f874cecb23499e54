"""Benchmarks of the native stack: `nox -s bench` (= `python -m tools.bench [--quick]`).

Bring-up times, Phoenix's memory, ingestion throughput/latency/backlog and the demo's tracing overhead,
each repeated and reported as median and min-max, compared as ratios measured in the same run. Nothing
here asserts on a time: the machine is shared and noisy, so the numbers are reported, never judged.
Results go to bench/results/ (JSON, a markdown table, a PNG).
"""
