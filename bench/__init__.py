"""Benchmarks of eoi-bot against the frameworks' floor (bench/README.md); run with `python -m bench`."""
