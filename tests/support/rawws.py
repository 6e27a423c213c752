"""A WebSocket client by hand, for what polite libraries will not do: announce a huge frame and
send only its start, or never answer a ping."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
from urllib.parse import urlsplit


class RawWebSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, ws_url: str, *, host: str | None = None) -> RawWebSocket:
        url = urlsplit(ws_url)
        assert url.hostname is not None and url.port is not None
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        return await cls.handshake(reader, writer, ws_url, host=host)

    @classmethod
    async def handshake(
        cls,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        ws_url: str,
        *,
        host: str | None = None,
    ) -> RawWebSocket:
        """Upgrade a connection made by the caller (e.g. with socket options of its own)."""
        url = urlsplit(ws_url)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: {host or url.netloc}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    def send_header(self, length: int, opcode: int = 0x2) -> bytes:
        """Write the header of a masked frame announcing `length` bytes; returns the mask."""
        mask = os.urandom(4)
        self.writer.write(bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", length) + mask)
        return mask

    def send_payload(self, data: bytes, mask: bytes, offset: int = 0) -> None:
        self.writer.write(bytes(b ^ mask[(offset + i) % 4] for i, b in enumerate(data)))

    async def read_frame(self) -> tuple[int, bytes]:
        """The next frame from the server: (opcode, payload)."""
        first, second = await self.reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first & 0x0F, await self.reader.readexactly(length)

    async def read_close(self) -> tuple[int, str]:
        """Skip data frames until the server's close frame; its code and reason."""
        while True:
            opcode, payload = await self.read_frame()
            if opcode == 0x8:
                (code,) = struct.unpack("!H", payload[:2])
                return code, payload[2:].decode()

    async def wait_eof(self) -> None:
        while await self.reader.read(65536):
            pass

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()
