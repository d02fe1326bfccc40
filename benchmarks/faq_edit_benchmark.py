"""How fast a live FAQ edit is served (issue 5: ≤ 2 s), against a real `agent run` process.

  python benchmarks/faq_edit_benchmark.py --model models/ecommerce-....tar.gz [--rounds 5]

For each round: `agent faq add` (a separate process, as a user would run it) writes a new entry; the
client then asks its question over the REST webhook every 20 ms until the new answer comes back. The
same for `agent faq remove`, and for `PUT /faq/{id}` over the HTTP API. Printed: seconds from the
edit being written (the CLI exiting, the PUT returning) to the first reply that reflects it, and for
the CLI also from launching the command (which includes starting Python and reading the model)."""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TOKEN = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, body: dict | None = None, method: str = "POST") -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def replies(base: str, sender: str, text: str) -> list[str]:
    _, body = request(f"{base}/webhooks/rest/webhook", {"sender": sender, "message": text})
    return [m.get("text", "") for m in body]


def wait_for(base: str, text: str, check, timeout: float = 30.0) -> float:
    """Seconds until a reply to `text` satisfies `check` (a fresh conversation each time)."""
    started = time.perf_counter()
    n = 0
    while time.perf_counter() - started < timeout:
        n += 1
        if check(replies(base, f"probe-{time.time_ns()}-{n}", text)):
            return time.perf_counter() - started
        time.sleep(0.02)
    raise TimeoutError(f"no reply reflected the edit within {timeout} s")


def cli(model: str, edits: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "agent", "faq", *args, "--model", model, "--edits", str(edits)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    model = str(Path(args.model).resolve())
    work = Path(tempfile.mkdtemp(prefix="faq-edit-bench-"))
    edits = work / "faq_edits.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent",
            "run",
            "--model",
            model,
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--enable-api",
            "--auth-token",
            TOKEN,
            "--faq-edits",
            str(edits),
            "--rate-limit",
            "0",
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        cli_served, cli_total, cli_removed, http_served = [], [], [], []
        for i in range(args.rounds):
            question = f"is the rooftop cafe number {i} open for guests"
            answer = f"Rooftop cafe {i} opens at 9am."
            launched = time.perf_counter()
            cli(model, edits, "add", f"rooftop_cafe_{i}", "-q", question, "-a", answer)
            written = time.perf_counter()
            served = wait_for(base, question, lambda texts, answer=answer: answer in texts)
            cli_served.append(served)
            cli_total.append(written - launched + served)
            cli(model, edits, "remove", f"rooftop_cafe_{i}")
            cli_removed.append(wait_for(base, question, lambda texts, answer=answer: answer not in texts))
            question = f"do you rent out bicycles model {i}"
            answer = f"Bike rental {i}: 10 euros a day."
            started = time.perf_counter()
            request(f"{base}/faq/bikes_{i}", {"questions": [question], "answer": {"text": answer}}, "PUT")
            http_served.append(
                time.perf_counter() - started + wait_for(base, question, lambda t, answer=answer: answer in t)
            )

        def stats(xs):
            return {"median_s": round(statistics.median(xs), 3), "max_s": round(max(xs), 3)}

        print(
            json.dumps(
                {
                    "rounds": args.rounds,
                    "cli_add_served_after_command_returned": stats(cli_served),
                    "cli_add_served_after_command_launched": stats(cli_total),
                    "cli_remove_served_after_command_returned": stats(cli_removed),
                    "http_put_served_after_request_sent": stats(http_served),
                }
            )
        )
    finally:
        server.terminate()
        server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
