"""A one-line progress meter on stderr (done/total, rate, ETA) shared by every long stage."""

from __future__ import annotations

import sys
import time


class Progress:
    """Rewrites one stderr line per update; silent when ``enabled`` is False."""

    def __init__(self, total: int, what: str = "items", enabled: bool = True, done: int = 0):
        self.total, self.what, self.enabled = total, what, enabled
        self.start_done = self.done = done
        self.started = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        rate = (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        print(
            f"\r  {self.done}/{self.total} {self.what}  {rate:.2f}/s  "
            f"elapsed {elapsed:.0f}s  ETA {eta:.0f}s ",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self.enabled:
            print(file=sys.stderr, flush=True)
