"""Integrations with frameworks and servers (each module imports only what it needs)."""
