"""Micro-batching of concurrent NLU calls through the encoder.

A parse never waits for company: the first message starts a batch at once. Messages that arrive
while the encoder is busy queue up and go through together in the next pass, so under load one
forward pass serves many conversations, and a lone message pays no extra latency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from agent.metrics import BATCH_SIZE, LATENCY


class MicroBatcher:
    def __init__(
        self,
        parse_batch: Callable[[list[str], list[str | None]], list[dict]],
        max_batch: int = 32,
        shortcut: Callable[[str], dict | None] = lambda text: None,
    ):
        self.parse_batch = parse_batch
        self.shortcut = shortcut  # messages that need no model (button payloads) never queue
        self.max_batch = max_batch
        self._queue: list[tuple[str, str | None, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None
        # one model thread: the model is not shared across threads and one thread is fastest here
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="nlu")

    async def parse(self, text: str, previous_language: str | None = None) -> dict:
        if self.shortcut(text or "") is not None:  # no model: parse it here, without queueing
            return self.parse_batch([text], [previous_language])[0]
        future = asyncio.get_running_loop().create_future()
        self._queue.append((text, previous_language, future))
        if self._worker is None:
            self._worker = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                started = time.perf_counter()
                try:
                    results = await loop.run_in_executor(
                        self._thread, self.parse_batch, [t for t, _, _ in batch], [p for _, p, _ in batch]
                    )
                except Exception as exc:  # every waiting turn learns of it; the worker keeps going
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                BATCH_SIZE.observe(len(batch))
                LATENCY.labels(stage="nlu").observe(time.perf_counter() - started)
                for (_, _, future), parsed in zip(batch, results):
                    if not future.done():
                        future.set_result(parsed)
                        # one turn resumes per loop pass, so webhooks are acknowledged in between
                        await asyncio.sleep(0)
        finally:
            self._worker = None

    async def run(self, fn: Callable, *args):
        """Run fn on the model thread, between parse batches (FAQ edits change what parses read)."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
