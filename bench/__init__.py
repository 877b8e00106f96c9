"""Benchmarks of eoi-bot against the frameworks' floor (README, "Benchmarks"); run with `python -m bench`."""
