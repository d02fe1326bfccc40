"""How long until a handoff shows on the agent desk page: a REST customer asks for a person, and the
clock stops when their row appears in the page's queue (headless Chromium, the page's live stream).

    python benchmarks/desk_benchmark.py domains/ecommerce --customers 30

Needs Debian's chromium and chromium-driver and selenium (scripts/setup.sh installs them). The bot runs
with its rules and button payloads (benchmarks/handoff_benchmark.py); server, browser and client share
this machine's cores. Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.request import Request, urlopen

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.handoff_benchmark import TOKEN, pct, rule_only_agent  # noqa: E402

POLL_S = 0.005


def serve(bot: Path):
    """The app on a loopback port, its event loop in a thread (Selenium's calls block)."""
    from aiohttp.test_utils import TestServer

    from agent.channels.rest import RestChannel
    from agent.server.app import build_app
    from agent.server.runner import AgentRunner

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    async def start():
        server = TestServer(build_app(AgentRunner(rule_only_agent(bot)), [RestChannel()]), host="127.0.0.1")
        await server.start_server()
        return server

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    return f"http://127.0.0.1:{server.port}"


def browser():
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bot", nargs="?", default=str(REPO / "domains" / "ecommerce"))
    parser.add_argument("--customers", type=int, default=30)
    args = parser.parse_args()
    from selenium.webdriver.common.by import By

    url = serve(Path(args.bot))
    driver = browser()
    try:
        driver.get(f"{url}/desk?token={TOKEN}")
        while not driver.find_element(By.ID, "status").get_property("textContent").startswith("Connected"):
            time.sleep(POLL_S)
        waits = []
        for i in range(args.customers):
            sender = f"desk-bench-{i}"
            body = json.dumps({"sender": sender, "message": "/talk_to_human"}).encode()
            started = time.perf_counter()
            urlopen(Request(f"{url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}), timeout=10)
            while not driver.find_elements(By.CSS_SELECTOR, f'#queue li[data-id="{sender}"]'):
                time.sleep(POLL_S)
            waits.append(time.perf_counter() - started)
    finally:
        driver.quit()
    print(
        json.dumps(
            {"customers": len(waits), "request_to_desk_page_ms": {"p50": pct(waits, 0.5), "p99": pct(waits, 0.99)}}
        )
    )


if __name__ == "__main__":
    main()
