"""Document history: recording versions as people edit, reading and comparing them, restoring.

- ``archive``: read-only access to a store's history (rebuild a version, render it, compare);
  the REST API and the CLI both use it, so they give the same answers.
- ``recorder``: the hub listener and background service that close versions.
"""
