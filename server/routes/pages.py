"""HTML pages. Until the browser client lands this is a plain index of documents."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from server.hub import Hub
from server.routes.api import document_summaries


async def home(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    # With auth on, the list is for token holders only (GET /api/docs filters it per token).
    listed = [] if request.app.state.auth.enabled else await document_summaries(hub)
    items = [
        f"<li><code>{html.escape(d['id'])}</code> — {d['editors']} editing</li>" for d in listed
    ]
    rows = "".join(items) or "<li>No documents yet.</li>"
    ws = f"ws://{html.escape(request.url.netloc)}/ws"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tandem</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Tandem</h1>
<p>Connect any Yjs client: <code>new WebsocketProvider('{ws}', docName, ydoc)</code>.</p>
<h2>Documents</h2><ul>{rows}</ul>
</body></html>"""
    return HTMLResponse(page)
