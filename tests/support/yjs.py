"""Real Yjs peers: `yjs` + y-websocket's WebsocketProvider running under Node."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
from pathlib import Path
from typing import Any

from tests.support.services import require_executable, unavailable

JS = Path(__file__).resolve().parents[1] / "js"


def require_node_clients() -> str:
    node = require_executable("node")
    if not (JS / "node_modules" / "y-websocket").exists():
        unavailable("tests/js/node_modules is missing: run `npm ci --prefix tests/js`")
    return node


class YjsClient:
    """One Node process holding one Y.Doc and one WebsocketProvider."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self._reader = asyncio.create_task(self._read())
        self._errors = asyncio.create_task(self._read_stderr())
        self.client_id: int | None = None

    @classmethod
    async def spawn(cls, env: dict[str, str] | None = None) -> YjsClient:
        node = require_node_clients()
        proc = await asyncio.create_subprocess_exec(
            node,
            str(JS / "client.mjs"),
            env={**os.environ, **env} if env else None,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=16 * 1024 * 1024,  # one reply is one line: a document's XML may be long
        )
        return cls(proc)

    @classmethod
    async def connected(
        cls, ws_url: str, doc: str, *, env: dict[str, str] | None = None, **kwargs: Any
    ) -> YjsClient:
        client = await cls.spawn(env)
        try:
            result = await client.call("connect", url=ws_url, doc=doc, **kwargs)
        except BaseException:
            await client.kill()  # never leak a node process when connecting fails
            raise
        client.client_id = result["clientId"]
        return client

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "id" in msg and msg["id"] in self._waiting:
                future = self._waiting.pop(msg["id"])
                if msg.get("ok"):
                    future.set_result(msg.get("result"))
                else:
                    future.set_exception(RuntimeError(msg.get("error")))
            else:
                self.events.append(msg)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(RuntimeError("node client exited: " + "".join(self.stderr)))

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.stderr.append(line.decode())

    async def call(self, cmd: str, timeout: float = 20.0, **args: Any) -> Any:
        assert self.proc.stdin is not None
        msg_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[msg_id] = future
        self.proc.stdin.write(
            (json.dumps({"id": msg_id, "cmd": cmd, "args": args}) + "\n").encode()
        )
        await self.proc.stdin.drain()
        async with asyncio.timeout(timeout):
            return await future

    async def xml(self) -> str:
        return str(await self.call("xml"))

    async def kill(self) -> None:
        """SIGKILL the process: its socket dies with no close frame."""
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()
        await self._reader
        await self._errors

    async def close(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(RuntimeError, TimeoutError):
                await self.call("exit", timeout=5)
        await self.kill()
