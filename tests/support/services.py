"""Tools the tests need from the machine: in CI a missing one is an error, never a skip."""

from __future__ import annotations

import os
import shutil
import socket
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_executable(name: str, *candidates: str) -> str:
    for path in (*candidates, shutil.which(name)):
        if path and os.path.exists(path):
            return path
    unavailable(f"{name} is not installed (run `make test`, which installs it)")


def unavailable(message: str) -> NoReturn:
    """Something a test needs is missing: a skip on a laptop, a failure in CI."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
