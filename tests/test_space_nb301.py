"""NB301 (DARTS cell space): encoding, builder, ground truth and blocks on the real reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from eznas.benchmark.benchmarks import open_benchmark
from eznas.benchmark.nb301 import load_nb301_reference
from eznas.data import data_batch, make_batches
from eznas.proxies import get_proxy
from eznas.proxies.trunk import stage_features
from eznas.spaces import get_space
from eznas.spaces.cost import count_params
from eznas.spaces.nb301 import parse_arch
from eznas.spaces.table import TableSpace
from eznas.stats import collect_model, find_blocks

# The first key of naslib_zc_nasbench301.json and its decoding (input, op index -> op~input;
# the edges of each node listed by input node)
FIRST_KEY = (
    "[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], "
    "[(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]"
)
FIRST_ARCH = (
    "normal=|max_pool_3x3~0|dil_conv_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|"
    "+|sep_conv_3x3~0|sep_conv_3x3~1|+|sep_conv_3x3~1|skip_connect~3|"
    ";reduce=|skip_connect~0|max_pool_3x3~1|+|sep_conv_3x3~0|sep_conv_3x3~1|"
    "+|avg_pool_3x3~0|max_pool_3x3~3|+|max_pool_3x3~2|dil_conv_5x5~3|"
)


@pytest.fixture(scope="module")
def nb301():
    return get_space("nb301")


@pytest.fixture(scope="module")
def reference():
    return load_nb301_reference()


def test_reference_keys_decode_to_canonical_strings(nb301, reference):
    assert len(reference) == 725
    assert nb301.validate(FIRST_KEY) == FIRST_ARCH
    assert list(reference)[0] == FIRST_ARCH
    for arch in list(reference)[:50]:
        assert nb301.validate(arch) == arch


def test_params_equal_reference_on_200_archs(nb301, reference):
    """Exact parameter counts (the file stores millions rounded to 6 decimals, i.e. units)."""
    archs = list(reference)
    picked = np.random.default_rng(0).choice(len(archs), size=200, replace=False)
    wrong = {}
    for i in picked:
        arch = archs[i]
        ours = round(count_params(nb301.build(arch, "cifar10")) * 1e6)
        theirs = round(reference[arch]["params"]["score"] * 1e6)
        if ours != theirs:
            wrong[arch] = (ours, theirs)
    assert not wrong


@pytest.mark.parametrize(
    ("arch", "quoted"),
    [
        (FIRST_ARCH.replace("dil_conv_3x3~1", "conv_7x7~1"), "'conv_7x7'"),
        (FIRST_ARCH.replace("dil_conv_3x3~1", "dil_conv_3x3~2"), "node 2 takes input 2"),
        (FIRST_ARCH.replace("dil_conv_3x3~1", "dil_conv_3x3~0"), "reads node 0 twice"),
        (FIRST_ARCH.replace("sep_conv_3x3~0", "sep_conv_3x3-0"), "'sep_conv_3x3-0'"),
        (FIRST_ARCH.split(";")[0], "expected 2"),
        (FIRST_ARCH.replace("reduce=", "reduction="), "'reduce='"),
        (FIRST_ARCH.replace("|+|max_pool_3x3~2|dil_conv_5x5~3|", ""), "has 3 node group(s)"),
        (FIRST_ARCH.replace("|avg_pool_3x3~1|", "|"), "'|avg_pool_3x3~0|'"),
        (FIRST_KEY.replace("(3, 6)", "(3, 7)"), "(3, 7)"),
        (FIRST_KEY.replace("(3, 6)]", "]"), "needs 8"),
        ("[[(0, 0)", "not a Python literal"),
        (42, "must be a string"),
    ],
)
def test_bad_archs_quote_the_bad_part(nb301, arch, quoted):
    with pytest.raises(ValueError, match="NB301") as error:
        nb301.validate(arch)
    assert quoted in str(error.value)


def test_sample_mutate_crossover_are_valid_and_seeded(nb301):
    rng = np.random.default_rng(3)
    archs = [nb301.sample(rng) for _ in range(50)]
    again = np.random.default_rng(3)
    assert archs == [nb301.sample(again) for _ in range(50)]
    assert len(set(archs)) == 50
    for a, b in zip(archs, archs[1:], strict=False):
        assert nb301.validate(a) == a
        child = nb301.mutate(a, rng)
        assert nb301.validate(child) == child
        # one op (one entry) or one input (two entries) changed
        assert (nb301.encode(child) != nb301.encode(a)).sum() in (1, 2)
        cross = nb301.crossover(a, b, rng)
        for node_a, node_b, node_c in zip(_nodes(a), _nodes(b), _nodes(cross), strict=True):
            assert node_c in (node_a, node_b)
    assert nb301.mutate(archs[0], np.random.default_rng(1)) == nb301.mutate(
        archs[0], np.random.default_rng(1)
    )


def _nodes(arch: str) -> list[tuple]:
    return [cell[2 * n : 2 * n + 2] for cell in parse_arch(arch) for n in range(4)]


def test_key_ignores_edge_order_and_node_numbering(nb301):
    # node 2 and node 3 both read only the inputs: swapping them (and renaming their
    # consumers' inputs) computes the same function up to weights
    a = (
        "normal=|sep_conv_3x3~0|skip_connect~1|+|dil_conv_5x5~0|max_pool_3x3~1|"
        "+|sep_conv_5x5~2|avg_pool_3x3~3|+|skip_connect~2|sep_conv_3x3~4|;"
        "reduce=|max_pool_3x3~0|max_pool_3x3~1|+|skip_connect~0|avg_pool_3x3~2|"
        "+|dil_conv_3x3~1|sep_conv_3x3~3|+|avg_pool_3x3~0|sep_conv_3x3~4|"
    )
    swapped = (
        "normal=|dil_conv_5x5~0|max_pool_3x3~1|+|sep_conv_3x3~0|skip_connect~1|"
        "+|avg_pool_3x3~2|sep_conv_5x5~3|+|skip_connect~3|sep_conv_3x3~4|;"
        "reduce=|max_pool_3x3~0|max_pool_3x3~1|+|skip_connect~0|avg_pool_3x3~2|"
        "+|dil_conv_3x3~1|sep_conv_3x3~3|+|avg_pool_3x3~0|sep_conv_3x3~4|"
    )
    reordered = FIRST_KEY.replace("(0, 0), (1, 5)", "(1, 5), (0, 0)")
    assert nb301.key(a) == nb301.key(swapped) and a != swapped
    assert nb301.key(reordered) == nb301.key(FIRST_ARCH)
    assert nb301.key(a) != nb301.key(FIRST_ARCH)
    assert nb301.key(a) != nb301.key(a.replace("sep_conv_5x5~2", "sep_conv_3x3~2"))


def test_open_benchmark_restricts_to_the_725_labelled_archs(reference):
    bench = open_benchmark("nb301")
    assert isinstance(bench.space, TableSpace) and len(bench.space) == 725
    assert bench.datasets == ("cifar10",) and len(bench.table) == 725
    assert bench.table.accuracy(FIRST_ARCH, "cifar10") == reference[FIRST_ARCH]["val_accuracy"]
    best, accuracy = bench.table.optimum("cifar10")
    assert accuracy == max(e["val_accuracy"] for e in reference.values())
    rng = np.random.default_rng(0)
    for _ in range(5):
        assert bench.space.mutate(best, rng) in reference


def _hand_count(nb301, arch: str) -> int:
    """RCBs by hand: 2 preprocessing ReLU-conv-BNs per cell, minus the 2 FactorizedReduce
    ones after the reductions; 2 per sep conv, 1 per dil conv; 6 normal and 2 reduce cells."""
    normal, reduce = nb301.cells(arch)

    def per_cell(cell):
        return sum(2 if op.startswith("sep") else op.startswith("dil") for _, op in cell)

    return 14 + 6 * per_cell(normal) + 2 * per_cell(reduce)


def test_blocks_equal_hand_count(nb301, reference):
    x = make_batches("cifar10", batch_size=2, seed=0).D
    for arch in list(reference)[:3]:
        torch.manual_seed(0)
        blocks = find_blocks(nb301.build(arch, "cifar10"), x, "rcb")
        assert len(blocks) == _hand_count(nb301, arch)
        sep = [b for b in blocks if len(b.names) == 4]
        assert all(b.conv.module.groups == b.conv.module.in_channels for b in sep)


def test_separable_conv_is_one_rcb_with_its_depthwise_conv():
    """ReLU -> depthwise -> pointwise -> BN is one block (EZNAS ignores the second conv);
    convs not fed by a ReLU, or not ending in a BN, are not."""
    sep = nn.Sequential(
        nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)
    )
    no_relu = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4))
    no_bn = nn.Sequential(nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 1))
    x = torch.randn(2, 4, 8, 8)
    (block,) = find_blocks(sep, x, "rcb")
    assert block.names == ("0", "1", "2", "3") and block.conv.module is sep[1]
    assert find_blocks(no_relu, x, "rcb") == find_blocks(no_bn, x, "rcb") == []


def test_collector_runs_on_a_darts_network(nb301):
    torch.manual_seed(0)
    model = nb301.build(FIRST_ARCH, "cifar10")
    stats = collect_model(
        model, make_batches("cifar10", batch_size=2, seed=0), "rcb", ["T3", "T4G_D"]
    )
    assert len(stats) == _hand_count(nb301, FIRST_ARCH)
    assert all(torch.isfinite(s["T4G_D"]).all() for s in stats)


def test_lossslope_regresses_from_the_three_darts_stages(nb301):
    x = make_batches("cifar10", batch_size=2, seed=0).D
    maps = stage_features(nb301.build(FIRST_ARCH, "cifar10"), x)
    assert [tuple(m.shape[1:]) for m in maps] == [(128, 32, 32), (256, 16, 16), (512, 8, 8)]


@pytest.mark.parametrize(
    "name",
    ["params", "flops", "synflow", "grad_norm", "naswot", "fisher", "az_progressivity", "zen"],
)
def test_proxies_score_a_darts_network(nb301, name):
    inputs, labels, _ = data_batch("cifar10", 8, 0)
    torch.manual_seed(0)
    model = nb301.build(FIRST_ARCH, "cifar10")
    score = get_proxy(name).score(model, inputs, labels, seed=0, arch=FIRST_ARCH, space=nb301)
    assert np.isfinite(score)


def test_skip_and_degree_follow_the_longest_path_inside_each_cell(nb301, reference):
    arch = (
        "normal=|sep_conv_3x3~0|sep_conv_3x3~1|+|sep_conv_3x3~1|sep_conv_3x3~2|"
        "+|skip_connect~0|sep_conv_3x3~3|+|skip_connect~0|dil_conv_3x3~4|"
        ";reduce=|max_pool_3x3~0|max_pool_3x3~1|+|skip_connect~1|avg_pool_3x3~2|"
        "+|max_pool_3x3~0|max_pool_3x3~1|+|max_pool_3x3~0|max_pool_3x3~1|"
    )
    # skips 0->4 (path 0-2-3-4), 0->5 (0-2-3-4-5), reduce 1->3 (1-2-3): 2, 3, 1 nodes
    assert get_proxy("skip").score(None, arch=arch, space=nb301) == pytest.approx(2.0)
    assert get_proxy("degree").score(None, arch=arch, space=nb301) == 6 + 6  # 6 convs
    # FIRST_ARCH's two skips (3->5, 0->2) bypass nothing
    assert get_proxy("skip").score(None, arch=FIRST_ARCH, space=nb301) == 0.0
    assert get_proxy("degree").score(None, arch=FIRST_ARCH, space=nb301) == 7
    scores = [get_proxy("skip").score(None, arch=a, space=nb301) for a in reference]
    assert all(np.isfinite(scores)) and len(set(scores)) > 5
