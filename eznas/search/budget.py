"""When a search stops: a time budget and/or a number of evaluated architectures.

Time is the proxies' real computation (cold-equivalent seconds, read from the Scorer),
not wall time: a warm run replays the stored costs, so it stops exactly where the cold
run did and the same seed gives the same answer whether or not the cache was warm.
"""

from __future__ import annotations

from dataclasses import dataclass

IDLE_LIMIT = 2000  # steps without a new architecture: the search has stalled


@dataclass(frozen=True)
class Budget:
    """Stop after ``seconds`` of proxy computation or ``evaluations`` distinct archs."""

    seconds: float | None = None
    evaluations: int | None = None

    def __post_init__(self):
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"time budget must be > 0 seconds, got {self.seconds}")
        if self.evaluations is not None and self.evaluations < 1:
            raise ValueError(f"evaluation budget must be >= 1, got {self.evaluations}")

    @property
    def unlimited(self) -> bool:
        return self.seconds is None and self.evaluations is None

    def exhausted(self, seconds: float, evaluations: int) -> bool:
        """True once either limit is reached."""
        return (self.seconds is not None and seconds >= self.seconds) or (
            self.evaluations is not None and evaluations >= self.evaluations
        )

    def describe(self) -> str:
        parts = []
        if self.seconds is not None:
            parts.append(f"{self.seconds:g} s")
        if self.evaluations is not None:
            parts.append(f"{self.evaluations} archs")
        return " or ".join(parts) or "none"
