"""Program evaluation on stacked real NB201 statistics: equals a per-block loop and synflow."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from deap import gp
from torch import nn

from eznas.data import make_batches
from eznas.gp.program import BlockSet, compile_tree, evaluate, make_pset, run
from eznas.metrics import kendall
from eznas.spaces import get_space
from eznas.stats import collect_model

N_NETS = 5


@pytest.fixture(scope="module")
def networks():
    """Five seeded NB201 networks for ImageNet16-120 (16x16 inputs keep the test fast)."""
    space = get_space("nb201")
    rng = np.random.default_rng(3)
    models = []
    for i in range(N_NETS):
        arch = space.sample(rng)
        while "conv" not in arch:
            arch = space.sample(rng)
        torch.manual_seed(i)
        models.append(space.build(arch, "ImageNet16-120"))
    return models, make_batches("ImageNet16-120", 1, 0)


@pytest.fixture(scope="module")
def stats(networks):
    models, batches = networks
    return [collect_model(m, batches) for m in models]


def naive(program, stats, to_scalar=torch.mean) -> np.ndarray:
    """The slow reference: a Python loop over networks and blocks, one block at a time."""
    out = []
    for blocks in stats:
        values = [
            float(to_scalar(run(program.root, {k: v[None] for k, v in b.items()})[0]))
            for b in blocks
        ]
        out.append(np.mean(values))
    return np.array(out)


def test_parse_and_errors():
    p = compile_tree("mul(T3, T3G_D)")
    assert p.kinds == ("T3", "T3G_D") and str(p) == "mul(T3, T3G_D)"
    with pytest.raises(ValueError, match="cannot parse"):
        compile_tree("mul(T3, T9)")


def test_stacked_equals_naive_loop(stats):
    blocks = BlockSet.from_blocks(stats)
    assert len(blocks.groups) > 1  # several shape groups, each spanning networks
    texts = [
        "mean(mul(T3, T3G_D))",
        "l2(sub(T1_D, T2_N))",
        "add(T4_P, std(T4G_D))",
        "logdet(gram_sample(T3))",
        "trace(gram_sample(tanh(T1G_P)))",
        "cosine(T1_D, T1_P)",
    ]
    random.seed(1)
    pset = make_pset()
    while len(texts) < 20:
        program = compile_tree(gp.PrimitiveTree(gp.genHalfAndHalf(pset, 1, 3)))
        if np.isfinite(evaluate([program], blocks)).all():
            texts.append(str(program))
    programs = [compile_tree(t) for t in texts]
    scores = evaluate(programs, blocks)
    for program, row in zip(programs, scores, strict=True):
        np.testing.assert_allclose(
            row, naive(program, stats), rtol=1e-5, atol=1e-9, err_msg=str(program)
        )


def test_invalid_program_gives_nan_row(stats):
    blocks = BlockSet.from_blocks(stats)
    # T1 (B, C_in, H, W) and T4 (B, C_out, H', W') differ in the reduction blocks
    scores = evaluate(
        [compile_tree("add(T1_D, T4_D)"), compile_tree("exp(exp(exp(T1_D)))")], blocks
    )
    assert np.isnan(scores).all()


def test_per_network_scores_each_network_as_alone(stats):
    """A network whose ReLU inputs are all zero (NB201's `none` edge feeding a block) makes
    logdet of their channel Gram -inf: fitness voids the program, held-out scoring keeps
    that value (as the exported file computes it) and every network scores as it does on its
    own, not depending on the networks evaluated with it."""
    broken = [[dict(b) for b in blocks] for blocks in stats]
    for b in broken[2]:
        b["T1_D"] = np.zeros_like(b["T1_D"])
    blocks = BlockSet.from_blocks(broken)
    program = [compile_tree("logdet(gram_channel(T1_D))")]
    assert np.isnan(evaluate(program, blocks)).all()
    row = evaluate(program, blocks, per_network=True)[0]
    assert row[2] == -np.inf and np.isfinite(np.delete(row, 2)).all()
    for i in range(N_NETS):
        alone = evaluate(program, blocks.subset([i]), per_network=True)[0, 0]
        assert row[i] == pytest.approx(alone, rel=1e-9)


def test_subset_keeps_order(stats):
    blocks = BlockSet.from_blocks(stats)
    p = [compile_tree("l1(T3G_N)")]
    full = evaluate(p, blocks)[0]
    np.testing.assert_allclose(evaluate(p, blocks.subset([4, 1, 2]))[0], full[[4, 1, 2]], rtol=1e-6)


def test_synflow_program_ranks_like_direct_synflow(networks, stats):
    """sum over RCBs of sum(T3 * T3G_D) equals sum(w * dL/dw) over the RCB convs; the
    synflow-style |w * dL/dw| too. The signed sums cancel heavily, so float32 rounding of
    differently ordered reductions shows up there: ranks must agree, values to 1 %."""
    models, batches = networks
    signed, absolute = [], []
    for model in models:
        convs = [
            m[1]
            for m in model.modules()
            if isinstance(m, nn.Sequential)
            and [type(c) for c in m] == [nn.ReLU, nn.Conv2d, nn.BatchNorm2d]
        ]
        model.train()
        loss = F.cross_entropy(model(batches.D), batches.labels)
        grads = torch.autograd.grad(loss, [c.weight for c in convs])
        terms = [c.weight.detach() * g for c, g in zip(convs, grads, strict=True)]
        signed.append(sum(float(t.sum()) for t in terms))
        absolute.append(sum(float(t.abs().sum()) for t in terms))
    blocks = BlockSet.from_blocks(stats)
    programs = [compile_tree("mul(T3, T3G_D)"), compile_tree("abs(mul(T3, T3G_D))")]
    scores = evaluate(programs, blocks, to_scalar="sum", aggregate="sum")
    np.testing.assert_allclose(scores[0], signed, rtol=1e-2)
    np.testing.assert_allclose(scores[1], absolute, rtol=1e-4)
    for row, direct in zip(scores, (signed, absolute), strict=True):
        assert list(np.argsort(row)) == list(np.argsort(direct))
        assert kendall(row, direct) == pytest.approx(1.0)


def test_only_used_kinds_group_like_all_kinds(stats):
    """Reading only a program's kinds (no T1/T3/T4 base kinds) groups blocks correctly."""
    few = [[{k: b[k] for k in ("T2_N", "T3G_N", "T3G_P")} for b in blocks] for blocks in stats]
    programs = [compile_tree("abs(T3G_N)"), compile_tree("mean(softmax(T2_N))")]
    np.testing.assert_allclose(
        evaluate(programs, BlockSet.from_blocks(few)),
        evaluate(programs, BlockSet.from_blocks(stats)),
        rtol=1e-6,
    )
