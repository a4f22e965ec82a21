"""Flow kinds (T4_O, T3G_O, T4G_O): the conv output and the gradients of the conv weight and
output on synflow's all-ones pass.

Real NB201 and NB101 networks, CIFAR-10 images. The conv output times its gradient, summed,
is synflow's |theta * dR/dtheta| of that conv, so the program ``sum(mul(T4_O, T4G_O))``
summed over blocks is synflow over the blocks' convs; the values pass 1e29 on NB201, so the
kinds stay float64 from capture to cache to exported file.
"""

from __future__ import annotations

import importlib.util

import h5py
import numpy as np
import torch

from eznas.benchmark.benchmarks import open_benchmark
from eznas.data import make_batches
from eznas.gp.export import export_program
from eznas.gp.fitness import load_pair
from eznas.gp.program import compile_tree, evaluate
from eznas.proxies.synflow import synflow_terms, weighted_layers
from eznas.runtime import capture, find_blocks, make_inputs
from eznas.stats import collect, open_cache

DATASET = "cifar10"
NETS = [0, 1, 3, 9]
PROGRAM = "sum(mul(T4_O, T4G_O))"


def build(bench, index):
    torch.manual_seed(0)
    return bench.space.build(bench.table.arch(index), DATASET).train()


def test_flow_kinds_are_synflow_of_the_blocks_convs_and_leave_the_model_alone():
    bench = open_benchmark("nb201")
    model = build(bench, 123)
    before = {k: v.clone() for k, v in model.named_parameters()}
    batches = make_batches(DATASET, 1, 0)
    names, stats = capture(
        model, make_inputs(batches.D, 0), batches.labels, "rcb", ["T4_O", "T3G_O", "T4G_O", "T3"]
    )
    assert all(s["T4_O"].dtype == torch.float64 for s in stats)
    blocks = find_blocks(model, batches.D)
    assert names == [b.name for b in blocks]
    for stat, block in zip(stats, blocks, strict=True):
        assert torch.equal(stat["T3"], block.conv.module.weight)  # signed: the model's own
    convs = {id(b.conv.module) for b in blocks}
    terms = synflow_terms(model, (3, 32, 32))
    expected = sum(
        float((w * g).abs().sum())
        for (w, g), layer in zip(terms, weighted_layers(model), strict=True)
        if id(layer) in convs
    )
    got = sum(float((s["T4_O"] * s["T4G_O"]).sum()) for s in stats)
    assert expected > 1e20
    assert abs(got / expected - 1) < 1e-12
    flows = {id(layer): g for (_, g), layer in zip(terms, weighted_layers(model), strict=True)}
    for stat, block in zip(stats, blocks, strict=True):  # dR/dtheta of the |weights| copy
        torch.testing.assert_close(stat["T3G_O"], flows[id(block.conv.module)], rtol=1e-12, atol=0)
    after = dict(model.named_parameters())  # BN running statistics move, as on any pass
    assert all(torch.equal(before[k], after[k]) and after[k].dtype == torch.float32 for k in before)


def test_flow_pass_finds_the_same_blocks_in_a_conv_bn_relu_space():
    """NB101's blocks are Conv-BN-ReLU: the identity BN must still be a call of its own."""
    bench = open_benchmark("nb101")
    model = build(bench, 0)
    batches = make_batches(DATASET, 1, 0)
    names, stats = capture(
        model, make_inputs(batches.D, 0), batches.labels, "cbr", ["T4_D", "T4_O"]
    )
    assert len(names) > 5
    assert all(s["T4_O"].shape == s["T4_D"].shape and (s["T4_O"] >= 0).all() for s in stats)


def test_flow_kinds_collect_in_float64_and_export_as_from_the_cache(tmp_path):
    bench = open_benchmark("nb201")
    path = collect(
        "nb201", DATASET, indices=NETS, out=tmp_path, kinds=["*_O", "T4_D"], progress=False
    )
    with open_cache(path) as cache:
        assert cache.kinds == ("T4_D", "T4_O", "T3G_O", "T4G_O")
    with h5py.File(path) as handle:
        group = handle["networks"][str(NETS[0])]
        assert group["T4_O"].dtype == np.float64 and group["T4_D"].dtype == np.float32
    pair = load_pair(path, None, n_task=4)
    expected = evaluate([compile_tree(PROGRAM)], pair.blocks, "mean", "sum")[0]
    assert np.isfinite(expected).all() and expected.max() > 1e20
    out = export_program(PROGRAM, tmp_path / "flow_proxy.py", batch_size=1, aggregate="sum")
    spec = importlib.util.spec_from_file_location("flow_proxy", out)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    batches = make_batches(DATASET, 1, 0)
    live = [
        module.score_model(build(bench, i), batches.D, batches.labels, seed=0) for i in pair.indices
    ]
    np.testing.assert_allclose(live, expected, rtol=1e-12)
