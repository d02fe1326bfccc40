"""The aiohttp application: channels, the optional HTTP API, metrics, and the guards every route
shares (body size caps, no tracebacks to callers)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agent.channels.base import Channel
from agent.metrics import CHANNEL_ERRORS, REGISTRY

log = logging.getLogger(__name__)

# Largest body each route accepts; platform payloads are small, so anything bigger is refused unread.
BODY_LIMITS = (
    ("/webhooks/wechat", 64 * 1024),
    ("/webhooks/wecom", 64 * 1024),
    ("/webhooks/slack", 256 * 1024),
    ("/webhooks/", 64 * 1024),
    ("/conversations/", 256 * 1024),
    ("/model/", 64 * 1024),
)
DEFAULT_LIMIT = 64 * 1024
RUNNER_KEY = web.AppKey("runner", object)


def body_limit(path: str) -> int:
    return next((limit for prefix, limit in BODY_LIMITS if path.startswith(prefix)), DEFAULT_LIMIT)


@web.middleware
async def guard(request: web.Request, handler):
    """Refuse oversize bodies with 413, unreadable ones with 400, and turn unexpected errors into a 500
    without internals. A response sent before the whole body arrived closes the connection: the client
    must not reuse it while the rest of a body we refused (or could not decode) is still on the wire."""
    response = await _guarded(request, handler)
    if not request.content.is_eof():
        response.force_close()
    return response


async def _guarded(request: web.Request, handler) -> web.StreamResponse:
    limit = body_limit(request.path)
    if request.content_length is not None and request.content_length > limit:
        CHANNEL_ERRORS.labels(channel=_channel(request.path), kind="too_large").inc()
        return web.json_response({"error": f"body larger than {limit} bytes"}, status=413)
    request = request.clone(client_max_size=limit)
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        CHANNEL_ERRORS.labels(channel=_channel(request.path), kind="too_large").inc()
        return web.json_response({"error": f"body larger than {limit} bytes"}, status=413)
    except RequestPayloadError:  # the body could not be read: a broken Content-Encoding, a cut-off chunk
        CHANNEL_ERRORS.labels(channel=_channel(request.path), kind="bad_request").inc()
        return web.json_response({"error": "the request body could not be read"}, status=400)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("error while handling %s %s", request.method, request.path)
        CHANNEL_ERRORS.labels(channel=_channel(request.path), kind="internal").inc()
        return web.json_response({"error": "internal error; the server log has the details"}, status=500)


def _channel(path: str) -> str:
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "webhooks" else "api"


def build_app(
    runner,
    channels: list[Channel],
    *,
    enable_api: bool = False,
    token: str | None = None,
    model_file: str = "",
    model_id: str = "",
) -> web.Application:
    import agent
    from agent.server.faq_api import faq_routes, follow_edit_log
    from agent.server.handoff_wiring import mount_handoffs
    from agent.server.http_api import api_routes, token_middleware

    middlewares = [guard] + ([token_middleware(token)] if enable_api and token else [])
    app = web.Application(middlewares=middlewares, client_max_size=max(limit for _, limit in BODY_LIMITS))
    app[RUNNER_KEY] = runner

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text=f"Hello from agent: {agent.__version__}")

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def version(request: web.Request) -> web.Response:
        return web.json_response({"version": agent.__version__, "minimum_compatible_version": agent.__version__})

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.add_routes(
        [web.get("/", hello), web.get("/health", health), web.get("/version", version), web.get("/metrics", metrics)]
    )
    for channel in channels:
        app.add_routes(channel.routes(runner))
    mount_handoffs(app, runner, channels, enable_api=enable_api, token=token)
    if enable_api:
        app.add_routes(api_routes(runner, model_file, model_id))
        if runner.live_faq is not None:
            app.add_routes(faq_routes(runner))
    if runner.live_faq is not None:

        async def follow_faq(app: web.Application):
            task = asyncio.ensure_future(follow_edit_log(runner))
            yield
            task.cancel()

        app.cleanup_ctx.append(follow_faq)

    async def finish_replies(app: web.Application) -> None:
        for channel in channels:
            await channel.close()

    async def finish_turns(app: web.Application) -> None:
        await runner.close()

    # on_shutdown runs while the server stops; on_cleanup after in-flight requests have finished
    app.on_shutdown.append(finish_replies)
    app.on_cleanup.append(finish_turns)
    return app
