"""A real `tandem serve` process on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A log line may hold a long traceback: past the reader's limit it would stop reading, and
# the server would block writing its logs.
_LINE_LIMIT = 16 * 1024 * 1024
_BANNER = re.compile(r"running at (https?://\S+?)/?\s")


class TandemProcess:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = list(args)
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.log: list[str] = []
        self._pump: asyncio.Task[None] | None = None

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/ws"

    async def start(self, timeout: float = 20.0) -> TandemProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            *self.args,
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=_LINE_LIMIT,
        )
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    line = (await self.proc.stdout.readline()).decode()
                    if not line:
                        raise RuntimeError("tandem exited:\n" + "".join(self.log))
                    self.log.append(line)
                    match = _BANNER.search(line)
                    if match:
                        self.url = match.group(1).rstrip("/")
                        break
        except BaseException as exc:
            # Reap the process whatever happened, so no test leaks a running or zombie child.
            if self.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
            await self.proc.wait()
            if isinstance(exc, TimeoutError):
                raise RuntimeError("tandem did not start:\n" + "".join(self.log)) from None
            raise
        self._pump = asyncio.create_task(self._read_rest())
        return self

    async def _read_rest(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.log.append(line.decode())

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        try:
            async with asyncio.timeout(timeout):
                code = await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            code = await self.proc.wait()
        if self._pump is not None:
            await self._pump
        return code

    async def kill(self) -> None:
        await self.stop(signal.SIGKILL)

    def output(self) -> str:
        return "".join(self.log)
