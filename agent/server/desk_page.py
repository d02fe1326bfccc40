"""The agent desk page: `GET /desk` serves a small static page (desk/desk.html, .css, .js) that
works the agent API (agent/server/handoff_api.py) from a browser. The files hold no data, so they
load without a token; the page sends the agent's token with every API call."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

DESK_DIR = Path(__file__).parent / "desk"
FILES = {  # name under /desk/ -> content type; only these are served
    "desk.html": "text/html",
    "desk.css": "text/css",
    "desk.js": "text/javascript",
}
HEADERS = {
    # the page runs only its own script and talks only to this server; no framing, no referrer (a
    # ?token= in the address must not leak)
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _file(name: str):
    async def serve(request: web.Request) -> web.Response:
        body = (DESK_DIR / name).read_bytes()
        return web.Response(body=body, content_type=FILES[name], charset="utf-8", headers=HEADERS)

    return serve


async def _redirect(request: web.Request) -> web.Response:
    """`/desk/` to `/desk`: the page's relative links (desk/desk.js, handoffs) assume the latter."""
    query = request.rel_url.query_string
    raise web.HTTPFound("../desk" + (f"?{query}" if query else ""))  # relative: works behind a path prefix


def desk_routes() -> list[web.RouteDef]:
    return [
        web.get("/desk", _file("desk.html")),
        web.get("/desk/", _redirect),
        *(web.get(f"/desk/{name}", _file(name)) for name in FILES if name != "desk.html"),
    ]
