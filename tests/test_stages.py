"""Stage inputs (T5): the feature maps all data flows through, found by data flow.

Real NB201 and DARTS (NB301) networks, CIFAR-10 images (16x16 for ImageNet16-120 networks,
for which there are no images here). AZ-NAS reads its features at the same places (the
stem and cell outputs), so the hand count is its ``block_features``.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from eznas.benchmark.benchmarks import open_benchmark
from eznas.data import make_batches
from eznas.gp.export import export_program
from eznas.gp.fitness import load_pair
from eznas.gp.holdout import holdout_parts
from eznas.gp.individual import parse_individual
from eznas.gp.program import compile_tree, evaluate
from eznas.proxies.trunk import block_features
from eznas.runtime import capture, cut_sites, find_blocks, make_inputs, stage_maps, stage_sites
from eznas.stats import collect, open_cache

DATASET = "ImageNet16-120"
NETS = [0, 1, 3, 9]  # 2, 3, 0 and 1 conv edges per cell
B = 16


def build(bench, index, dataset=DATASET):
    torch.manual_seed(0)
    return bench.space.build(bench.table.arch(index), dataset).train()


def assert_covariances(covariances, maps):
    """Each covariance is torch.cov of its map's channels over samples and positions."""
    assert len(covariances) == len(maps)
    for cov, stage in zip(covariances, maps, strict=True):
        flat = stage.transpose(0, 1).reshape(stage.shape[1], -1).double()
        torch.testing.assert_close(cov.double(), torch.cov(flat), rtol=1e-4, atol=1e-6)


def stage_cache(out, kind):
    """A summary cache of ``kind`` and C_T1_N for the networks ``NETS``."""
    return collect(
        "nb201", DATASET, indices=NETS, batch_size=B, summaries=True, out=out,
        kinds=[kind, "C_T1_N"], progress=False,
    )  # fmt: skip


def exported_scores(text, path, aggregate, indices):
    """The program exported to ``path``, loaded and scored on live networks ``indices``."""
    out = export_program(text, path, batch_size=B, aggregate=aggregate)
    spec = importlib.util.spec_from_file_location(out.stem, out)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bench, batches = open_benchmark("nb201"), make_batches(DATASET, B, 0)
    return [module.score_model(build(bench, i), batches.D, batches.labels, seed=0) for i in indices]


@pytest.mark.parametrize("index", NETS)
def test_nb201_stages_are_the_stem_and_cell_outputs(space, table, index):
    """Each block's stage input is the stem output or the output of the cell before its
    own: the distinct stages in depth order are AZ-NAS's features of the cells with blocks."""
    bench = open_benchmark("nb201")
    model = build(bench, index)
    x = make_batches(DATASET, B, 0).D
    blocks = find_blocks(model, x, "rcb", stages=True)
    with torch.no_grad():
        features = block_features(model, x)  # stem, then every cell's output
    cells = find_blocks(model, x, "rcb")
    assert [b.name for b in blocks] == [b.name for b in cells]
    for block in blocks:
        cell = int(block.names[0].split(".")[1])  # cells.<k>.<edge...>: its cell
        torch.testing.assert_close(block.stage, features[cell])
    sites = stage_sites(model, x, "rcb")
    with_blocks = len({int(b.names[0].split(".")[1]) for b in blocks})
    assert len(set(sites)) == with_blocks and sites == sorted(sites)


def test_darts_cells_read_two_cells_so_the_stem_is_the_only_stage():
    bench = open_benchmark("nb301")
    model = build(bench, 0, "cifar10")
    x = make_batches("cifar10", 2, 0).D
    blocks = find_blocks(model, x, bench.space.block_pattern, stages=True)
    with torch.no_grad():
        stem = model.stem(x)
    assert len(blocks) > 20 and all(torch.equal(b.stage, stem) for b in blocks)


def test_stage_kinds_capture_collect_and_export(space, table, tmp_path):
    """C_T5 equals the covariance of the stage input; a cache stores the opt-in stage kinds;
    a program over them, exported, scores live models exactly as from the cache."""
    bench = open_benchmark("nb201")
    batches = make_batches(DATASET, B, 0)
    model = build(bench, 1)
    _, stats = capture(model, make_inputs(batches.D, 0), batches.labels, "rcb", ["C_T5_N", "T5_D"])
    blocks = find_blocks(model, make_inputs(batches.D, 0)["N"], "rcb", stages=True)
    assert_covariances([s["C_T5_N"] for s in stats], [b.stage for b in blocks])
    path = stage_cache(tmp_path, "C_T5_N")
    with open_cache(path) as cache:
        assert cache.kinds == ("C_T1_N", "C_T5_N")
        assert cache.shapes("C_T5_N", 1)[0] == (16, 16)
    text = "add(eig_entropy(C_T5_N), eig_min(C_T1_N))"
    pair = load_pair(path, None, n_task=4)
    expected = evaluate([compile_tree(text)], pair.blocks, "mean", "stage_min_step")[0]
    assert np.isfinite(expected).sum() >= 3
    live = exported_scores(text, tmp_path / "stage_proxy.py", "stage_min_step", pair.indices)
    np.testing.assert_allclose(live, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="'T5_D' matches no kind a summary cache stores"):
        collect("nb201", DATASET, indices=NETS[:1], batch_size=B, summaries=True, out=tmp_path,
                kinds=["T5_D"], progress=False)  # fmt: skip


@pytest.mark.parametrize("index", NETS)
def test_stage_maps_are_azs_features_but_the_last(space, table, index):
    """The stage maps (T6) are the blocks' stage inputs and every cut more than one call
    reads: the stem and every cell output but the last, conv-less cells included (network
    3 has no conv in any cell, so no block reads most of them)."""
    bench = open_benchmark("nb201")
    model = build(bench, index)
    x = make_batches(DATASET, B, 0).D
    maps = stage_maps(model, x, "rcb")
    with torch.no_grad():
        features = block_features(model, x)
    assert len(maps) == len(features) - 1
    for got, feature in zip(maps, features, strict=False):
        torch.testing.assert_close(got, feature)
    sites, numbers = cut_sites(model, x, "rcb")
    assert set(sites) <= set(numbers) and numbers == sorted(numbers)


def test_stage_map_kinds_are_rows_of_their_own_from_capture_to_export(space, table, tmp_path):
    """C_T6 rows follow the block rows, one per stage map; a cache stores them with their own
    count; a program over them, exported, scores live models exactly as from the cache; a
    program mixing them with block kinds is invalid."""
    bench = open_benchmark("nb201")
    batches = make_batches(DATASET, B, 0)
    model = build(bench, 1)
    inputs = make_inputs(batches.D, 0)
    names, rows = capture(model, inputs, batches.labels, "rcb", ["C_T6_N", "C_T1_N"])
    maps = stage_maps(model, inputs["N"], "rcb")
    assert len(rows) == len(names) + len(maps)
    assert all(set(r) == {"C_T1_N"} for r in rows[: len(names)])
    assert_covariances([r["C_T6_N"] for r in rows[len(names) :]], maps)
    path = stage_cache(tmp_path, "C_T6_N")
    with open_cache(path) as cache:
        assert cache.kinds == ("C_T1_N", "C_T6_N")
        assert len(cache.shapes("C_T6_N", 3)) == 17 and cache.meta(3)["rcb_count"] == 4
        assert cache.shapes("C_T6_N", 3)[-1] == (64, 64)
    pair = load_pair(path, None, n_task=4)
    text = "eig_entropy(C_T6_N)"
    programs = [compile_tree(t) for t in (text, "add(eig_entropy(C_T6_N), eig_min(C_T1_N))")]
    expected, mixed = evaluate(programs, pair.blocks, "mean", "min_step")
    assert np.isfinite(expected).all() and np.isnan(mixed).all()
    live = exported_scores(text, tmp_path / "map_proxy.py", "min_step", pair.indices)
    np.testing.assert_allclose(live, expected, rtol=1e-5)


def test_stage_maps_of_a_conv_bn_relu_space_start_after_the_input():
    """NB101's stem block reads the image, so the image is its stage input (T5); the stage
    maps leave the network's input out: the first is the stem's 128-channel output."""
    bench = open_benchmark("nb101")
    model = build(bench, 0, "cifar10")
    x = make_batches("cifar10", 2, 0).D
    maps = stage_maps(model, x, "cbr")
    assert maps and all(m is not x for m in maps) and maps[0].shape[1:] == (128, 32, 32)


def test_held_out_scoring_merges_block_and_stage_map_captures(space, table):
    """A raw B = 1 capture (blocks only) and a B = 16 summary capture with stage maps make
    one set of rows per network (the selection and held-out tables score this way)."""
    individual = parse_individual("mean:eig_entropy(C_T6_N) ; mean:l2(T2_D)")
    captures = [(1, ["T2_D"]), (B, ["C_T6_N"])]
    parts, _ = holdout_parts([individual], "nb201", DATASET, NETS, captures=captures)
    assert all(len(row) == len(NETS) and np.isfinite(row).all() for row in parts.values())
    assert len(parts) == 2
