"""Benchmarks, and the realistic Postfix logs they run on."""
