"""The HTTP layer: routes, templates, static files, and how errors become responses."""

from server.http import convertors

convertors.register()  # before any route is built: routes name {doc:docid}
