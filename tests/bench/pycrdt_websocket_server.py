"""pycrdt-websocket 0.16.5 under uvicorn, as its README runs it: a peer for the benchmark."""

from __future__ import annotations

import asyncio
import sys

import uvicorn
from pycrdt.websocket import ASGIServer, WebsocketServer


async def main(port: int) -> None:
    websocket_server = WebsocketServer()
    app = ASGIServer(websocket_server)
    async with websocket_server:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        print(f"running at http://127.0.0.1:{port}/", flush=True)
        await uvicorn.Server(config).serve()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
