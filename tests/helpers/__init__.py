"""Shared test helpers: bot directories from YAML, tiny models, fake parsers, server processes."""
