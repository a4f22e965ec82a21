"""Network-level terms an individual may add to its rank combination.

``params`` is the complexity term AZ-NAS and VKDNW combine with (read from the statistics,
which record each network's parameter count). Any proxy of the library may enter the same
way (a hybrid individual, as SR-GP and GreenMachine evolve over existing proxies): its
scores come from the library's Scorer on the same networks, seed and dataset as the
statistics, through the persistent score cache, so a second run pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from eznas.benchmark.benchmarks import Benchmark, as_benchmark

PARAMS = "params"


def check_term(name: str) -> str:
    """``name`` if it is ``params`` or a per-network library proxy; ValueError otherwise."""
    if name == PARAMS:
        return name
    from eznas.proxies import PROXIES

    if name not in PROXIES:
        raise ValueError(
            f"unknown term '@{name}': use @params or a library proxy ({', '.join(sorted(PROXIES))})"
        )
    return name


def term_values(
    names: Sequence[str],
    benchmark: Benchmark | str,
    dataset: str,
    seed: int,
    archs: Sequence[str],
    params: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """{term: value per network} for networks ``archs`` (``params``, when the statistics
    know them, are taken as given)."""
    values = {} if params is None else {PARAMS: np.asarray(params, dtype=float)}
    proxies = [n for n in names if n not in values]
    if proxies:
        from eznas.proxies.scoring import DEFAULT_CACHE, Scorer

        bench = as_benchmark(benchmark)
        scorer = Scorer(bench.space, dataset, seed, data_dir=bench.data_dir, cache=DEFAULT_CACHE)
        for name in proxies:
            values[name] = np.array([scorer(arch, name) for arch in archs], dtype=float)
    return values
