"""How much of NASWOT's score is the network's ReLU unit count N_A (log|K_H| ~ B log N_A)?

Usage: python experiments/naswot_units.py [--benchmark nb101] [-n 100] [--score-cache FILE]
On the networks ``eznas correlate -n N --seed 0`` samples, prints Kendall tau between NASWOT
and accuracy, NASWOT and N_A (units of every ``nn.ReLU`` for one image), N_A and accuracy,
and ``naswot - B log N_A`` (the code-diversity part) and accuracy. Written to explain why
NASWOT ranks NB101 poorly while it ranks NAS-Bench-Macro well.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from scipy.stats import kendalltau

from eznas.benchmark.benchmarks import open_benchmark
from eznas.correlation import run_correlation
from eznas.proxies import get_proxy
from eznas.proxies.scoring import DEFAULT_CACHE
from eznas.spaces.cost import count_relu_units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", default="nb101")
    parser.add_argument("--data", default=None)
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--score-cache", dest="cache", default=str(DEFAULT_CACHE))
    args = parser.parse_args()
    torch.set_num_threads(1)
    bench = open_benchmark(args.benchmark, args.data)
    report = run_correlation(bench, proxies=["naswot"], n=args.n, seed=0, cache=args.cache)
    score, accuracy = report.scores["naswot"], report.accuracies
    archs = [bench.table.arch(int(i)) for i in report.indices]
    units = np.array(
        [count_relu_units(bench.space.build(a, "cifar10"), (3, 32, 32)) for a in archs]
    )
    diversity = score - get_proxy("naswot").batch_size * np.log(units)
    for label, x, y in [
        ("naswot vs accuracy", score, accuracy),
        ("naswot vs N_A", score, units),
        ("N_A vs accuracy", units, accuracy),
        ("naswot - B log N_A vs accuracy", diversity, accuracy),
    ]:
        print(f"{args.benchmark}, {len(archs)} networks: tau({label}) = {kendalltau(x, y)[0]:.3f}")


if __name__ == "__main__":
    main()
