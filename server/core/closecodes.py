"""The one table of WebSocket close codes Tandem uses (clients and tests rely on these)."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    POLICY = 1008
    TOO_BIG = 1009
    SERVER_ERROR = 1011
    RESTART = 1012
    TRY_AGAIN_LATER = 1013
    UNAUTHENTICATED = 4401
    FORBIDDEN = 4403
    NOT_FOUND = 4404
    DOCUMENT_TOO_LARGE = 4413  # 44xx: y-websocket clients do not reconnect (it would not help)
