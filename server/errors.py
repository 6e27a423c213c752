"""Errors of the hub.

TandemError
├── ConfigError      bad flags, environment or store URL (the CLI prints it and exits 2)
└── StoreError       a store backend failed (SQLite or Redis errors are translated into this)
"""

from __future__ import annotations


class TandemError(Exception):
    pass


class ConfigError(TandemError):
    pass


class StoreError(TandemError):
    pass
