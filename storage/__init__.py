"""Persistence: SQLAlchemy models, sessions and every operation that changes state."""
