"""GET /d/{doc}/history: the history viewer's page shell; the script draws it from the API.

No inline script or style: the page loads /static/history.js and /static/history.css only, so
it works under a strict Content-Security-Policy (which it sends itself).
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


async def history_page(request: Request) -> Response:
    doc = request.path_params["doc"]  # checked by the {doc:docid} convertor
    name = html.escape(doc)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>History of {name} — Tandem</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/history.css">
<script src="/static/history.js" defer></script>
</head>
<body>
<main id="history" class="history" data-doc="{name}">
<header class="history-head">
<h1>History of <a class="history-doc" href="/d/{name}">{name}</a></h1>
<form class="history-save" id="history-save">
<input id="history-label" name="label" maxlength="200" placeholder="Name this version"
 aria-label="Version name"><button type="submit">Save version</button>
</form>
</header>
<p class="history-status" id="history-status" role="status" aria-live="polite">Loading…</p>
<div class="history-body">
<nav class="history-timeline" aria-label="Versions"><ol id="history-versions"></ol></nav>
<section class="history-view" aria-label="Selected version">
<div class="history-toolbar">
<h2 id="history-title">Select a version</h2>
<div class="history-actions">
<label>Compare with <select id="history-compare" disabled></select></label>
<div class="history-tabs" role="tablist">
<button type="button" role="tab" id="history-tab-preview" aria-selected="true">Preview</button>
<button type="button" role="tab" id="history-tab-diff" aria-selected="false">Changes</button>
</div>
<button type="button" id="history-restore" class="history-restore" disabled>
Restore this version</button>
</div>
</div>
<div id="history-summary" class="history-summary"></div>
<article id="history-content" class="history-content"></article>
</section>
</div>
</main>
</body></html>"""
    return HTMLResponse(page, headers={"Content-Security-Policy": CSP})
