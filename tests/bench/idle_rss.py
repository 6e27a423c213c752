"""Resident memory of a hub holding idle sockets: 1,000 connections (10 documents), each with a
presence, promising a heartbeat as Tandem's client does, then silent. Prints the hub's RSS
before and after they joined.

    python -m tests.bench.idle_rss [--connections 1000] [--root PATH]

`--root` runs the hub of another checkout (e.g. an export of an older commit) to compare.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from crdt.awareness import AwarenessEntry, encode_awareness_update
from crdt.protocol import encode_awareness
from tests.support import tandem as support
from tests.support.tandem import TandemProcess

ROOT = Path(__file__).resolve().parents[2]
# Every socket comes from 127.0.0.1 (200 per address by default).
ENV = {"TANDEM_MAX_CONNECTIONS_PER_ADDRESS": "100000"}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def main(connections: int, root: Path) -> None:
    support.ROOT = root  # the checkout whose hub runs (cwd and PYTHONPATH of the process)
    env = ENV | {"PYTHONPATH": str(root)}
    server = TandemProcess("--port", "0", "--store", "memory://", env=env)
    await server.start()
    assert server.proc is not None
    sockets: list[ClientConnection] = []
    try:
        await asyncio.sleep(2)
        before = rss_kib(server.proc.pid)
        for i in range(connections):
            ws = await connect(f"{server.ws_url}/idle-{i % 10}?heartbeat=4", max_size=None)
            state = f'{{"user":{{"name":"p{i}","color":"#336699"}}}}'
            entry = AwarenessEntry(1000 + i, 1, state)
            await ws.send(encode_awareness(encode_awareness_update([entry])))
            sockets.append(ws)
        await asyncio.sleep(3)
        after = rss_kib(server.proc.pid)
        each = (after - before) * 1024 / connections
        print(f"root={root} connections={connections} rss_kib={before}->{after} each={each:.0f} B")
    finally:
        for ws in sockets:
            await ws.close()
        await server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    asyncio.run(main(args.connections, args.root.resolve()))
