"""Benchmarks that print tables next to the Go reference: ``python3 -m benchmarks.<name>``."""
