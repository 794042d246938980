"""Operational helpers (local SMTP sink for the demo and tests)."""
