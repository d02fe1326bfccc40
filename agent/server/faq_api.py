"""Edit the served FAQ over HTTP (`--enable-api`, behind the same token as the rest of the API).
An edit is written to the edit log first (so it survives restarts and reaches the other servers
following the log), then applied here on the model thread before the request returns."""

from __future__ import annotations

import asyncio

from aiohttp import web

from agent.bot.faq_entries import entry_problems
from agent.channels.rest import bad_request, json_body
from agent.faq.edits import REMOVE, UPSERT

POLL_SECONDS = 0.5


def faq_routes(runner) -> list[web.RouteDef]:
    live = runner.live_faq

    async def list_entries(request: web.Request) -> web.Response:
        entries = await runner.batcher.run(live.entries)
        return web.json_response({"entries": [e.to_dict() for e in entries], "edit_seq": live.seq})

    async def get_entry(request: web.Request) -> web.Response:
        entry = await runner.batcher.run(live.router.bank.get, request.match_info["entry_id"])
        if entry is None:
            return web.json_response({"error": f"no FAQ entry '{request.match_info['entry_id']}'"}, status=404)
        return web.json_response(entry.to_dict())

    async def put_entry(request: web.Request) -> web.Response:
        body = await json_body(request)
        if isinstance(body, web.Response):
            return body
        entry_id = request.match_info["entry_id"]
        body.setdefault("id", entry_id)
        problems = entry_problems(body)
        if body["id"] != entry_id:
            problems.append(f"the body's id '{body['id']}' differs from the URL's '{entry_id}'")
        if problems:
            return bad_request("; ".join(problems), "faq")
        edit = await asyncio.get_running_loop().run_in_executor(None, live.log.append, live.bot, UPSERT, entry_id, body)
        await runner.batcher.run(live.catch_up)
        return web.json_response({"entry": live.router.bank.get(entry_id).to_dict(), "edit_seq": edit.seq})

    async def delete_entry(request: web.Request) -> web.Response:
        entry_id = request.match_info["entry_id"]
        if live.router.bank.get(entry_id) is None:
            return web.json_response({"error": f"no FAQ entry '{entry_id}'"}, status=404)
        edit = await asyncio.get_running_loop().run_in_executor(None, live.log.append, live.bot, REMOVE, entry_id)
        await runner.batcher.run(live.catch_up)
        return web.json_response({"removed": entry_id, "edit_seq": edit.seq})

    one = "/faq/{entry_id:.+}"  # Rasa retrieval ids have a slash: faq/ask_hours
    return [
        web.get("/faq", list_entries),
        web.get(one, get_entry),
        web.put(one, put_entry),
        web.delete(one, delete_entry),
    ]


async def follow_edit_log(runner, interval: float = POLL_SECONDS) -> None:
    """Apply edits other processes (`agent faq`, other servers) write to the log."""
    while True:
        await asyncio.sleep(interval)
        try:
            await runner.batcher.run(runner.live_faq.catch_up)
        except Exception:  # a locked or briefly unreadable log is retried on the next tick
            continue
