"""Server figures over loopback: start time, RSS, REST latency and throughput, channel ack times.

    python benchmarks/server_benchmark.py --model models/ecommerce.tar.gz      # starts `agent run` itself
    python benchmarks/server_benchmark.py --url http://127.0.0.1:5005 \\
        --payload '{"sender": "{sender}", "message": "{text}"}'                 # any running server, e.g. Rasa

Every phase is bounded in time (--seconds). Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TEXTS_ZH = [
    "你好",
    "我的订单到哪了",
    "我想退货",
    "运费多少钱",
    "能寄到香港吗",
    "订单ORD-123456还没到",
    "可以用花呗吗",
    "好的谢谢，拜拜",
    "转人工客服",
    "你们几点上班",
]
TEXTS = [
    "hello",
    "where is my order",
    "I want to return my shoes",
    "how much is shipping",
    "do you ship to canada",
    "my order ORD-123456 has not arrived",
    "can I pay with paypal",
    "thanks, bye",
    "I want to talk to a human",
    "what are your opening hours",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def render(template: str, sender: str, text: str) -> dict:
    """The payload template with {sender} and {text} filled in as JSON strings."""
    return json.loads(template.replace('"{sender}"', json.dumps(sender)).replace('"{text}"', json.dumps(text)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_ready(url: str, token: str, timeout: float = 120.0) -> float:
    started = time.time()
    async with aiohttp.ClientSession() as http:
        while time.time() - started < timeout:
            try:
                async with http.get(f"{url}/status", params={"token": token}) as resp:
                    if resp.status == 200:
                        return time.time() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit(f"the server did not answer /status within {timeout:.0f} s")


async def conversation(
    http, url: str, template: str, sender: str, deadline: float, latencies: list[float], errors: list[int]
) -> None:
    i = 0
    while time.perf_counter() < deadline:
        body = render(template, sender, TEXTS[i % len(TEXTS)])
        i += 1
        t0 = time.perf_counter()
        async with http.post(url, json=body) as resp:
            await resp.read()
            if resp.status != 200:
                errors.append(resp.status)
                continue
        latencies.append(time.perf_counter() - t0)


async def load(url: str, template: str, clients: int, seconds: float, tag: str) -> dict:
    latencies: list[float] = []
    errors: list[int] = []
    connector = aiohttp.TCPConnector(limit=clients + 4)
    async with aiohttp.ClientSession(connector=connector) as http:
        await conversation(http, url, template, f"warm-{tag}", time.perf_counter() + 1.0, [], [])
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(
            *(conversation(http, url, template, f"{tag}-{k}", deadline, latencies, errors) for k in range(clients))
        )
        wall = time.perf_counter() - started
    return {
        "clients": clients,
        "messages": len(latencies),
        "errors": len(errors),
        "msgs_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 99) * 1000, 1) if latencies else None,
    }


SLACK_SECRET = "bench-signing-secret"
WECHAT_TOKEN = "benchtoken"


async def fake_platform_api() -> tuple[aiohttp.web.AppRunner, str, list]:
    """Stands in for chat.postMessage and WeChat's token + customer-service API; records the calls."""
    from aiohttp import web

    calls: list = []

    async def post_message(request):
        calls.append(("slack", await request.json()))
        return web.json_response({"ok": True, "ts": "1.0"})

    async def token(request):
        return web.json_response({"access_token": "t", "expires_in": 7200})

    async def custom_send(request):
        calls.append(("wechat", await request.json()))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    app = web.Application()
    app.add_routes(
        [
            web.post("/chat.postMessage", post_message),
            web.get("/cgi-bin/token", token),
            web.post("/cgi-bin/message/custom/send", custom_send),
        ]
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}", calls


def slack_request(i: int) -> tuple[bytes, dict]:
    import hashlib
    import hmac

    event = {
        "type": "event_callback",
        "event_id": f"EvBench{i}",
        "team_id": "T1",
        "event": {
            "type": "message",
            "channel": f"D{i % 50}",
            "channel_type": "im",
            "user": f"U{i % 50}",
            "text": TEXTS[i % len(TEXTS)],
            "ts": f"{time.time():.6f}",
        },
    }
    body = json.dumps(event).encode()
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(SLACK_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return body, {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig, "Content-Type": "application/json"}


def wechat_request(i: int) -> tuple[bytes, dict]:
    import hashlib

    ts, nonce = str(int(time.time())), str(i)
    sig = hashlib.sha1("".join(sorted([WECHAT_TOKEN, ts, nonce])).encode()).hexdigest()
    xml = (
        f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[o{i % 50}]]></FromUserName>"
        f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{TEXTS[i % len(TEXTS)]}]]></Content><MsgId>{10**9 + i}</MsgId></xml>"
    )
    return xml.encode(), {"signature": sig, "timestamp": ts, "nonce": nonce}


async def acks_under_load(url: str, template: str, clients: int, seconds: float) -> dict:
    """Slack and WeChat webhook answer times while `clients` REST conversations keep the server busy."""
    timings: dict[str, list[float]] = {"slack": [], "wechat": []}
    deadline = time.perf_counter() + seconds

    async def sender(http, kind: str) -> None:
        i = 0
        while time.perf_counter() < deadline:
            i += 1
            body, extra = slack_request(i) if kind == "slack" else wechat_request(i)
            t0 = time.perf_counter()
            if kind == "slack":
                resp = await http.post(f"{url}/webhooks/slack/webhook", data=body, headers=extra)
            else:
                resp = await http.post(
                    f"{url}/webhooks/wechat", data=body, params=extra, headers={"Content-Type": "text/xml"}
                )
            await resp.read()
            if resp.status == 200:
                timings[kind].append(time.perf_counter() - t0)
            await asyncio.sleep(0.1)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients + 8)) as http:
        latencies: list[float] = []
        await asyncio.gather(
            sender(http, "slack"),
            sender(http, "wechat"),
            *(
                conversation(http, f"{url}/webhooks/rest/webhook", template, f"busy-{k}", deadline, latencies, [])
                for k in range(clients)
            ),
        )
    return {
        kind: {
            "acks": len(t),
            "p50_ms": round(percentile(t, 50) * 1000, 1) if t else None,
            "p99_ms": round(percentile(t, 99) * 1000, 1) if t else None,
        }
        for kind, t in timings.items()
    }


def start_server(
    model: str, port: int, token: str, workdir: Path, api_url: str, extra: list[str], wechat_deadline: float | None
) -> tuple[subprocess.Popen, float]:
    deadline = f"  reply_deadline: {wechat_deadline}\n" if wechat_deadline is not None else ""
    (workdir / "credentials.yml").write_text(
        f"rest:\nslack:\n  slack_token: xoxb-bench\n  slack_signing_secret: {SLACK_SECRET}\n  api_url: {api_url}\n"
        f"wechat:\n  app_id: wxbench\n  app_secret: benchsecret\n  token: {WECHAT_TOKEN}\n  api_url: {api_url}\n"
        + deadline
    )
    (workdir / "endpoints.yml").write_text(
        f"tracker_store:\n  type: sql\n  dialect: sqlite\n  db: {workdir / 'bench.db'}\n"
    )
    started = time.time()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent",
            "run",
            "--model",
            str(Path(model).resolve()),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--enable-api",
            "--auth-token",
            token,
            "--credentials",
            "credentials.yml",
            "--endpoints",
            "endpoints.yml",
            "--rate-limit",
            "0",
            *extra,
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, started


async def main_async(args) -> dict:
    figures: dict = {}
    proc = None
    url = args.url
    fake, api_url, calls = await fake_platform_api()
    try:
        if url is None:
            port, token = free_port(), "bench-token"
            workdir = Path(tempfile.mkdtemp(prefix="agent-server-bench-"))
            proc, started = start_server(
                args.model, port, token, workdir, api_url, args.server_arg, args.wechat_reply_deadline
            )
            url = f"http://127.0.0.1:{port}"
            await wait_ready(url, token)
            figures["start_to_status_200_s"] = round(time.time() - started, 2)
        webhook = url + args.path
        figures["single_client"] = await load(webhook, args.payload, 1, args.seconds, "one")
        if proc is not None:
            figures["rss_mb_after_single"] = round(rss_mb(proc.pid))
        for clients in args.concurrency:
            figures[f"concurrent_{clients}"] = await load(webhook, args.payload, clients, args.seconds, f"c{clients}")
        if proc is not None:
            figures["channel_acks_under_load"] = await acks_under_load(
                url, args.payload, max(args.concurrency), args.seconds
            )
            await asyncio.sleep(2.0)  # let the last background replies reach the fake APIs
            figures["channel_replies_sent"] = {
                kind: sum(1 for k, _ in calls if k == kind) for kind in ("slack", "wechat")
            }
            figures["rss_mb_end"] = round(rss_mb(proc.pid))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
        await fake.cleanup()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model to serve with `agent run` (default: newest in models/)")
    parser.add_argument("--url", help="benchmark a server that is already running at this base URL instead")
    parser.add_argument("--path", default="/webhooks/rest/webhook")
    parser.add_argument(
        "--payload",
        default='{"sender": "{sender}", "message": "{text}"}',
        help='JSON body template; "{sender}" and "{text}" are filled in',
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each load phase")
    parser.add_argument(
        "--server-arg", action="append", default=[], help="extra `agent run` argument, e.g. --server-arg=--nlu-batch=1"
    )
    parser.add_argument(
        "--wechat-reply-deadline",
        type=float,
        help="WeChat's reply_deadline: how long a webhook waits to answer with the reply itself",
    )
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[8, 32])
    parser.add_argument("--chinese", action="store_true", help="send Chinese customer messages (a Chinese bot)")
    args = parser.parse_args()
    if args.chinese:
        TEXTS[:] = TEXTS_ZH
    if args.url is None and args.model is None:
        from agent.model.artifact import latest_model

        args.model = str(latest_model(REPO / "models"))
    figures = asyncio.run(main_async(args))
    figures |= {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "seconds_per_phase": args.seconds}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
