"""`agent run`: serve a trained bot over HTTP (channels from credentials.yml, the tracker and lock
stores from endpoints.yml)."""

from __future__ import annotations

import gc
import logging
import time
from pathlib import Path

from rich.console import Console

from agent.bot.endpoints import load_endpoints
from agent.model.artifact import latest_model


def run_server(args) -> int:
    import torch
    from aiohttp import web

    from agent.runtime import Agent
    from agent.server.app import build_app
    from agent.server.credentials import load_channels
    from agent.server.runner import AgentRunner, RateLimit
    from agent.stores.factory import build_lock_store, build_store

    console = Console(highlight=False, stderr=True)
    torch.set_num_threads(args.threads)  # one thread per serving process is fastest on small boxes
    logging.getLogger("agent").setLevel(logging.INFO)
    started = time.time()
    path = args.model or latest_model(args.models_dir)
    endpoints = load_endpoints(args.endpoints)
    channels, warnings = load_channels(args.credentials)
    for warning in warnings:
        console.print(warning, markup=False, soft_wrap=True)  # file:line: warning W501: ...
    store, where = build_store(endpoints)
    locks, ordering = build_lock_store(endpoints)
    agent = Agent.load(path, store=store, endpoints=endpoints)
    gc.collect()
    gc.freeze()  # the model and libraries stay put: later full collections skip them (shorter pauses)
    rate = RateLimit(args.rate_limit, args.rate_burst) if args.rate_limit > 0 else None
    if args.enable_api and not args.auth_token:
        console.print(
            "[yellow]warning:[/yellow] the HTTP API is enabled without --auth-token; anyone who can "
            "reach this port can read conversations"
        )

    live = None
    if agent.interpreter.faq is not None:
        from agent.faq.edits import FAQEditLog
        from agent.faq.live import LiveFAQ

        live = LiveFAQ(agent.interpreter.faq, agent.artifact.manifest["bot"], FAQEditLog(args.faq_edits))
        live.catch_up()

    async def make_app() -> web.Application:
        runner = AgentRunner(agent, rate, max_batch=max(1, args.nlu_batch), live_faq=live, locks=locks)
        return build_app(
            runner,
            channels,
            enable_api=args.enable_api,
            token=args.auth_token,
            model_file=str(path),
            model_id=Path(path).name.removesuffix(".tar.gz"),
        )

    routes = ", ".join(c.name for c in channels)
    console.print(
        f"[dim]model {path} loaded in {time.time() - started:.1f}s; {where}; {ordering}; channels: {routes}"
        f"{'; HTTP API on' if args.enable_api else ''}"
        f"{f'; FAQ {len(live.router.bank)} entries, following {args.faq_edits}' if live else ''}[/dim]"
    )
    console.print(f"serving on http://{args.host}:{args.port} (Ctrl-C stops after in-flight turns finish)")
    web.run_app(make_app(), host=args.host, port=args.port, shutdown_timeout=30, print=None, access_log=None)
    return 0
