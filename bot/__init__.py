"""The running service: configuration, CLI, web app and channel adapters."""
