"""Shared test machinery: real server processes, real Yjs clients, waiting on conditions."""
