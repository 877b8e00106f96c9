"""A whole EOI window simulated end to end at county scale, with faults, checking that nothing is lost.

A driver outside the product's layers (like tests/ and bench/): it runs `eoi-bot serve` as a real subprocess on
PostgreSQL, talks to it only through its public surfaces (signed Slack requests into /slack/events, Bot
Framework activities into /api/messages, the `eoi-bot` CLI and console), and watches what reaches the fake
Slack Web API and fake Bot Connector. See sim/run.py for the timeline and sim/invariants.py for what is checked.
"""
