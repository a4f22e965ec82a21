import itertools

import numpy as np
import pytest
import torch

from eznas.benchmark.benchmarks import open_benchmark
from eznas.benchmark.nb101 import nb101_entries
from eznas.proxies import PROXIES
from eznas.spaces import get_space
from eznas.spaces.nb101 import format_arch, parse_arch
from eznas.spaces.table import TableSpace
from eznas.stats import find_blocks

# NB101's Inception-like example cell as written in its README, and the isomorphic form
# the dataset stores; NB101 reports 2,694,282 trainable parameters for it.
INCEPTION = "in-c1-c3-c3-c3-mp-out|0111010.0000001.0000001.0000100.0000001.0000001.0000000"
STORED = "in-c3-c1-mp-c3-c3-out|0111100.0000001.0000001.0000001.0000010.0000001.0000000"


@pytest.fixture(scope="module")
def space():
    return get_space("nb101")


@pytest.fixture(scope="module")
def entries():
    return nb101_entries()


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def meta_params(space, arch: str) -> int:
    """Parameter count of a model built on the meta device (no memory, no init: fast)."""
    with torch.device("meta"):
        return count(space.build(arch, "cifar10"))


def test_params_exact_on_a_seeded_sample_of_the_reference(space, entries):
    params: dict[str, set[int]] = {}  # the 500 keys prune to 301 arch strings
    for arch, entry in entries:
        params.setdefault(arch, set()).add(round(entry["params"] * 1e6))
    archs = sorted(params)
    for i in np.random.default_rng(0).choice(len(archs), size=200, replace=False):
        assert {meta_params(space, archs[i])} == params[archs[i]], archs[i]


def test_params_of_nb101s_own_example(space):
    assert count(space.build(INCEPTION, "cifar10")) == 2694282
    assert count(space.build(STORED, "cifar10")) == 2694282


def test_strings_round_trip_and_prune_like_nb101(space):
    assert space.validate(INCEPTION) == INCEPTION
    matrix, ops = parse_arch(INCEPTION)
    assert format_arch(matrix, ops) == INCEPTION
    # Vertex 2 has no path to the output and vertex 3 none from the input: both pruned.
    dangling = "in-c3-mp-c1-out|01100.00001.00000.00001.00000"
    assert space.validate(dangling) == "in-c3-out|010.001.000"
    assert space.key(dangling) == space.key("in-c3-out|010.001.000")


@pytest.mark.parametrize(
    ("bad", "quoted"),
    [
        ("in-c3-out", "must be '<ops>|<rows>'"),
        ("in-c5-out|011.001.000", "unknown op 'c5'"),
        ("c3-c3-out|011.001.000", "ops 'c3-c3-out' must start 'in'"),
        ("in-c3-out|011.001", "2 matrix rows for 3 ops"),
        ("in-c3-out|011.0012.000", "row 1 '0012'"),
        ("in-c3-out|011.101.000", "row 1 '101' has an edge at or below the diagonal"),
        ("in-c3-out|010.000.000", "no path from input to output"),
        ("in-c3-c3-c3-c3-c3-c3-out|" + ".".join(["0" * 8] * 8), "8 vertices"),
        (
            "in-c3-c3-c3-c3-c3-out|0111111.0011111.0001111.0000111.0000011.0000001.0000000",
            "has 21 edges after pruning",
        ),
    ],
)
def test_bad_archs_are_refused_quoting_the_bad_part(space, bad, quoted):
    with pytest.raises(ValueError, match=quoted):
        space.validate(bad)


def relabel(arch: str, rng: np.random.Generator) -> str:
    """``arch`` with its interior vertices renumbered in another topological order."""
    matrix, ops = parse_arch(arch)
    n = len(ops)
    while True:
        perm = [0, *(rng.permutation(n - 2) + 1), n - 1]
        new = np.zeros_like(matrix)
        new[np.ix_(perm, perm)] = matrix
        if not np.tril(new).any():
            return format_arch(new, [ops[perm.index(v)] for v in range(n)])


def test_key_is_nb101s_graph_hash_and_invariant_to_relabelling(space):
    assert space.key(INCEPTION) == space.key(STORED) == "28cfc7874f6d200472e1a9dcd8650aa0"
    rng = np.random.default_rng(0)
    for arch in (space.sample(rng) for _ in range(30)):
        assert space.key(relabel(arch, rng)) == space.key(arch)
    chain_a = "in-c3-c1-out|0100.0010.0001.0000"
    chain_b = "in-c1-c3-out|0100.0010.0001.0000"
    assert space.key(chain_a) != space.key(chain_b)


def test_sample_mutate_crossover_are_seeded_and_valid(space):
    def run(seed):
        rng = np.random.default_rng(seed)
        samples = [space.sample(rng) for _ in range(40)]
        mutants = [space.mutate(a, rng) for a in samples]
        children = [space.crossover(a, b, rng) for a, b in itertools.pairwise(samples)]
        return samples, mutants, children

    samples, mutants, children = run(0)
    assert run(0) == (samples, mutants, children)
    assert len(set(samples)) > 25  # NASBench's sampler often prunes to the same small cells
    for arch in samples + mutants + children:
        assert space.validate(arch) == arch
        assert space.encode(arch).shape == (26,)
    assert all(space.key(m) != space.key(a) for a, m in zip(samples, mutants, strict=True))


def test_open_benchmark_restricts_to_the_reference_cells():
    bench = open_benchmark("nb101")
    assert isinstance(bench.space, TableSpace) and bench.space.name == "nb101"
    assert bench.space.block_pattern == "cbr"  # the restricted space keeps the base's
    assert len(bench.table) == len(bench.space) == 292  # 500 keys, 292 distinct cells
    assert len({bench.space.key(a) for a in bench.table.archs()}) == 292
    arch, best = bench.table.optimum("cifar10")
    assert best == pytest.approx(94.7115, abs=1e-4)
    rng = np.random.default_rng(0)
    child = bench.space.mutate(arch, rng)
    assert child != arch and child in set(bench.table.archs())


@pytest.mark.parametrize(
    ("arch", "blocks"),
    # Per cell: one CBR per conv vertex and per 1x1 projection of the input (an edge from
    # vertex 0); nine cells plus the stem.
    [
        ("in-out|01.00", 1 + 9 * 1),
        ("in-mp-out|010.001.000", 1 + 9 * 1),
        ("in-c3-c3-out|0111.0010.0001.0000", 1 + 9 * 5),
        (INCEPTION, 1 + 9 * 8),
    ],
)
def test_block_finder_counts_conv_bn_relu_blocks(space, arch, blocks):
    torch.manual_seed(0)
    model = space.build(arch, "cifar10")
    assert len(find_blocks(model, torch.randn(2, 3, 32, 32), space.block_pattern)) == blocks


def test_skip_and_degree_count_bypassed_vertices_of_the_cell(space):
    # Edges 0>1 0>2 0>3 1>2 2>3: 0>2 bypasses vertex 1, 0>3 bypasses vertices 1 and 2.
    arch = "in-c3-c3-out|0111.0010.0001.0000"
    skip, degree = PROXIES["skip"], PROXIES["degree"]
    assert skip.score(None, arch=arch, space=space) == pytest.approx(3 / 5)
    assert degree.score(None, arch=arch, space=space) == 2 + 3
    assert skip.score(None, arch="in-out|01.00", space=space) == 0.0
    relabelled = relabel(INCEPTION, np.random.default_rng(1))
    assert degree.score(None, arch=relabelled, space=space) == degree.score(
        None, arch=INCEPTION, space=space
    )
