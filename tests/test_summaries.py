"""Summary statistics with a sample axis, on real NB201 networks and real CIFAR-10 images.

ImageNet16-120 networks are the quickest to run; their inputs are CIFAR-10 images resized to
16x16 (there are no ImageNet16-120 images here).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

from eznas.cli import main
from eznas.correlation import run_correlation
from eznas.data import make_batches
from eznas.errors import BadFileError
from eznas.gp import EvolveConfig, evolve
from eznas.gp.export import export_program
from eznas.gp.fitness import load_pair
from eznas.gp.holdout import holdout_scores
from eznas.gp.individual import parse_individual
from eznas.gp.ops import op_eig_entropy, op_eig_max, op_l2
from eznas.gp.program import compile_tree, evaluate, make_pset
from eznas.runtime import (
    FLOW_KINDS,
    INPUT_KINDS,
    STAGE_KINDS,
    STAGE_MAP_KINDS,
    STAGE_MAP_SUMMARY_KINDS,
    STAGE_SUMMARY_KINDS,
    Kind,
    capture,
    parse_kind,
    summary_shape,
)
from eznas.stats import ALL_KINDS, KINDS, SUMMARY_KINDS, collect, open_cache
from eznas.stats.cache import SUMMARY_CACHE_KINDS, cache_name

DATASET = "ImageNet16-120"
NETS = [0, 1, 3, 9]  # 2, 3, 0 and 1 conv edges: 34, 49, 4 and 19 blocks
B = 16


def load_module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(space, table, index, seed=0):
    torch.manual_seed(seed)
    return space.build(table.arch(index), DATASET)


def direct(kind: str, raw: torch.Tensor) -> torch.Tensor:
    """A summary computed the obvious way from the raw (B, C, H, W) tensor of one block."""
    summary = parse_kind(kind).summary
    rows = raw.flatten(1).double()
    if summary == "C":
        return torch.cov(raw.transpose(0, 1).reshape(raw.shape[1], -1).double())
    if summary == "S":
        return rows @ rows.T / rows.shape[1]
    if summary == "K":  # NASWOT's K_H = c_i.c_j + (1 - c_i).(1 - c_j), over the unit count
        c = (raw > 0).flatten(1).double()
        return (c @ c.T + (1 - c) @ (1 - c).T) / c.shape[1]
    return rows.norm(dim=1)


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    """A raw B = 1 cache and a summary B = 16 cache of the same four networks."""
    out = tmp_path_factory.mktemp("stats")
    raw = collect("nb201", DATASET, indices=NETS, out=out, progress=False)
    summary = collect(
        "nb201", DATASET, indices=NETS, batch_size=B, summaries=True, out=out, progress=False
    )
    return raw, summary


def test_kind_names_parse_in_one_place():
    assert len(KINDS) == 22 and len(SUMMARY_KINDS) == 27
    opt_in = (
        STAGE_KINDS + STAGE_SUMMARY_KINDS + FLOW_KINDS + STAGE_MAP_KINDS + STAGE_MAP_SUMMARY_KINDS
    )
    assert (*KINDS, *SUMMARY_KINDS, *opt_in) == ALL_KINDS
    assert parse_kind("C_T6_N") == Kind("T6", False, "N", "C") and parse_kind("T4_O").input == "O"
    assert not set(KINDS) & set(SUMMARY_KINDS)
    assert parse_kind("C_T5_N") == Kind("T5", False, "N", "C") and parse_kind("T5_D").raw == "T5_D"
    assert parse_kind("C_T4G_P") == Kind("T4", True, "P", "C")
    assert parse_kind("C_T4G_P").raw == "T4G_P" and parse_kind("K_T1_D").raw == "T1_D"
    assert parse_kind("T4G_P") == Kind("T4", True, "P") and parse_kind("T4G_P").summary is None
    assert parse_kind("T3").raw == "T3"
    for bad in ("C_T3", "K_T4_D", "S_T1G_N", "C_D"):
        with pytest.raises(ValueError, match=bad):
            parse_kind(bad)
    shape = (16, 32, 8, 8)
    assert summary_shape("C_T2_N", shape) == (32, 32)
    assert summary_shape("S_T4_D", shape) == summary_shape("K_T1_P", shape) == (16, 16)
    assert summary_shape("L_T4_P", shape) == (16,) and summary_shape("T4_P", shape) == shape


def test_summaries_equal_direct_computation_from_raw_tensors(space, table):
    """Every summary kind of every block equals torch's own computation from the raw
    B-sample tensors of the same model and batch (covariance = torch.cov, K = NASWOT's)."""
    batches = make_batches(DATASET, B, 0)
    inputs = {x: batches[x] for x in INPUT_KINDS}
    raw_kinds = sorted({parse_kind(k).raw for k in SUMMARY_KINDS})
    names, raw = capture(build(space, table, 0), inputs, batches.labels, "rcb", raw_kinds)
    again, summaries = capture(
        build(space, table, 0), inputs, batches.labels, "rcb", [*SUMMARY_KINDS, "T1_D"]
    )
    assert names == again and len(names) == 34
    for block, stats in zip(raw, summaries, strict=True):
        assert set(stats) == {*SUMMARY_KINDS, "T1_D"}
        torch.testing.assert_close(stats["T1_D"], block["T1_D"])  # raw kinds alongside
        for kind in SUMMARY_KINDS:
            source = block[parse_kind(kind).raw]
            assert stats[kind].shape == summary_shape(kind, tuple(source.shape))
            ref = direct(kind, source)  # float64; entries span 1e-25 (gradients) to 1e6
            error = (stats[kind].double() - ref).abs().max()
            assert error <= 1e-5 * ref.abs().max(), (kind, error, ref.abs().max())
    k = summaries[5]["K_T1_D"]
    assert torch.all((k >= 0) & (k <= 1)) and torch.all(k.diagonal() == 1)


def test_summary_cache_round_trip(space, table, caches):
    raw_path, path = caches
    assert path.name == cache_name("nb201", DATASET, "rcb", B, 0, "float32", summaries=True)
    assert path.name.endswith("-b16-s0-sum.h5") and path.parent == raw_path.parent
    batches = make_batches(DATASET, B, 0)
    with open_cache(path) as cache, open_cache(raw_path) as raw:
        assert cache.summaries and not raw.summaries
        assert cache.attrs["schema_version"] == 2 and raw.attrs["schema_version"] == 1
        assert cache.kinds == SUMMARY_CACHE_KINDS and raw.kinds == KINDS
        assert cache.networks() == NETS and cache.meta(1) == raw.meta(1)
        inputs = {x: batches[x] for x in INPUT_KINDS}
        names, live = capture(
            build(space, table, 1), inputs, batches.labels, "rcb", SUMMARY_CACHE_KINDS
        )
        assert cache.block_names(1) == names
        for kind in SUMMARY_CACHE_KINDS:
            stored = cache.read(kind, [1])[0]
            assert len(stored) == 49
            for arr, ref in zip(stored, live, strict=True):
                np.testing.assert_array_equal(arr, ref[kind].numpy())
        # the shapes table keeps the raw tensors' full shapes at B (and T3's)
        for ours, theirs in zip(cache.shapes("T3", 1), raw.shapes("T3", 1), strict=True):
            assert ours == theirs
        assert cache.shapes("C_T1_D", 1)[0] == (16, 16) and cache.shapes("L_T4_P", 1)[0] == (B,)
        one = cache.read("S_T4G_N", [0, 1], blocks=[-1])
        np.testing.assert_array_equal(one[1][0], live[-1]["S_T4G_N"].numpy())
        assert set(next(cache.iter_blocks(3))) == set(SUMMARY_CACHE_KINDS)
        with pytest.raises(KeyError, match="T1_D"):
            cache.read("T1_D", [1])
        with pytest.raises(KeyError, match="C_T1_D"):
            raw.read("C_T1_D", [1])
    with pytest.raises(ValueError, match="underflow float16"):
        collect(indices=[3], summaries=True, dtype="float16", out=path.parent, progress=False)


KILLED_RUN = """
import os, signal, sys
import eznas.stats.pipeline as pipeline

write_index = pipeline.write_index

def write_and_die(path, attrs, members):
    write_index(path, attrs, members)
    if len(members) == 2:  # two networks done, two to go
        os.kill(os.getpid(), signal.SIGKILL)

pipeline.write_index = write_and_die
pipeline.collect("nb201", "ImageNet16-120", indices=[0, 1, 3, 9], batch_size=16,
                 summaries=True, out=sys.argv[1], progress=False)
"""


def test_kill_9_then_resume_equals_uninterrupted_run(caches, tmp_path):
    clean = caches[1]
    proc = subprocess.run([sys.executable, "-c", KILLED_RUN, str(tmp_path)], check=False)
    assert proc.returncode == -9
    path = tmp_path / clean.name
    with open_cache(path) as cache:  # readable, only complete networks visible
        assert len(cache.networks()) == 2
    argv = ["collect", "--dataset", DATASET, "--indices", *map(str, NETS), "--summaries"]
    assert main([*argv, "--batch-size", str(B), "--out", str(tmp_path)]) == 0
    assert not (tmp_path / (clean.name + ".parts")).exists()
    with open_cache(path) as a, open_cache(clean) as b:
        assert a.networks() == b.networks() == NETS and a.kinds == b.kinds
        for index in NETS:
            assert a.meta(index) == b.meta(index)
            assert a.shapes("T3", index) == b.shapes("T3", index)
            for kind in a.kinds:
                for x, y in zip(a.read(kind, [index])[0], b.read(kind, [index])[0], strict=True):
                    np.testing.assert_array_equal(x, y)


def test_mixed_blockset_evaluates_raw_and_summary_kinds(space, table, caches, tmp_path):
    raw_path, summary_path = caches
    pair = load_pair(f"{raw_path}+{summary_path}", None, n_task=4, seed=0)
    assert pair.blocks.kinds() == set(KINDS + SUMMARY_KINDS)  # stage kinds are opt-in
    assert load_pair(raw_path, None, n_task=4).blocks.kinds() == set(KINDS)  # unchanged path
    only_d = load_pair(f"{raw_path}+{summary_path}", None, ["*_D", "T3"], n_task=4)
    assert only_d.blocks.kinds() == {k for k in KINDS + SUMMARY_KINDS if k.endswith("_D")} | {
        "T3"
    }  # patterns match the kinds held (T5_D is not)
    with pytest.raises(BadFileError, match="holds no S_T9"):
        load_pair(raw_path, None, ["T4_D", "S_T9*"], n_task=4)
    text = "mul(eig_entropy(C_T4_D), add(l2(T4_D), eig_max(K_T1_P)))"
    scores = evaluate([compile_tree(text)], pair.blocks)[0]
    assert np.isfinite(scores).all()
    with open_cache(raw_path) as raw, open_cache(summary_path) as summ:
        for pos, index in enumerate(pair.indices):
            c, t4 = summ.read("C_T4_D", [index])[0], raw.read("T4_D", [index])[0]
            k = summ.read("K_T1_P", [index])[0]
            blocks = zip(c, t4, k, strict=True)
            one = [[torch.as_tensor(a)[None] for a in block] for block in blocks]
            values = [
                float(op_eig_entropy(ci)[0] * (op_l2(ti)[0] + op_eig_max(ki)[0]))
                for ci, ti, ki in one
            ]
            assert scores[pos] == pytest.approx(np.mean(values), rel=1e-5)
    assert "C_T4_D" in make_pset(pair.blocks.kinds()).arguments
    assert "C_T4_D" not in make_pset().arguments  # the raw 22 by default
    config = EvolveConfig(
        caches=[f"{raw_path}+{summary_path}"], population=6, generations=1, n_task=4, per_pair=4
    )
    run = evolve(config, tmp_path / "run", verbose=False)
    info = load_module(run.export(tmp_path / "run_proxy.py", select="final")).PROXY_INFO
    assert {size for size, _ in info["captures"]} <= {1, B}
    # held-out scoring captures each cache's kinds from its own seeded model and batch size,
    # so on the cached networks it reproduces the caches exactly
    individual = parse_individual(text)
    captures = [(1, list(KINDS)), (B, list(SUMMARY_CACHE_KINDS))]
    live = holdout_scores([individual], "nb201", DATASET, NETS, captures=captures, progress=False)
    np.testing.assert_allclose(live[0], scores, rtol=1e-5)
    # and so does the exported file, given by path where a proxy name goes: raw kinds from a
    # B = 1 batch, summaries from a B = 16 batch, one model
    path = export_program(text, tmp_path / "mixed_proxy.py", captures=captures)
    info = load_module(path).PROXY_INFO
    assert info["batch_size"] == B and [size for size, _ in info["captures"]] == [1, B]
    report = run_correlation(
        "nb201", DATASET, [str(path)], seed=0, indices=NETS, cache=None, progress=False
    )
    np.testing.assert_allclose(report.scores[str(path)], scores, rtol=1e-5)
    with pytest.raises(ValueError, match="batch size 1 but got 16 inputs"):
        batches = make_batches(DATASET, B, 0)
        load_module(path).score_model(build(space, table, NETS[0]), batches.D, batches.labels)


def test_exported_proxy_computes_summaries_from_a_live_model(space, table, caches, tmp_path):
    """A program over summaries, exported, scores live models as the evolver scored the
    cache: the runtime computes the summaries the same way in both."""
    text = "add(eig_entropy(C_T4_D), eff_rank(add(K_T1_N, S_T2_P)))"
    pair = load_pair(caches[1], None, n_task=4)
    expected = evaluate([compile_tree(text)], pair.blocks)[0]
    path = export_program(text, tmp_path / "summary_proxy.py", batch_size=B)
    module = load_module(path)
    assert module.PROXY_INFO["batch_size"] == B and "import eznas" not in path.read_text()
    batches = make_batches(DATASET, B, 0)
    scores = [
        module.score_model(build(space, table, i), batches.D, batches.labels, seed=0)
        for i in pair.indices
    ]
    np.testing.assert_allclose(scores, expected, rtol=1e-5)


def test_groups_of_other_networks_or_seeds_are_refused(caches, tmp_path):
    raw_path, summary_path = caches
    other = collect(
        "nb201", DATASET, indices=[3], batch_size=2, summaries=True, out=tmp_path, progress=False
    )
    with pytest.raises(BadFileError, match="different networks"):
        load_pair([raw_path, other], None)
    seeded = tmp_path / "seed1.h5"
    shutil.copyfile(summary_path, seeded)
    with h5py.File(seeded, "a") as handle:
        handle.attrs["seed"] = 1
    with pytest.raises(BadFileError, match="seed=1"):
        load_pair([raw_path, seeded], None)


def test_schema_mismatch_is_one_line(caches, tmp_path, capsys):
    """A raw cache where a summary cache is expected (and the reverse): one line, status 2."""
    raw_path, summary_path = caches
    shutil.copyfile(raw_path, tmp_path / summary_path.name)
    argv = ["collect", "--dataset", DATASET, "--indices", "3", "--batch-size", str(B)]
    assert main([*argv, "--summaries", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "holds raw tensors (schema 1), not summaries (schema 2)" in err
    shutil.copyfile(summary_path, tmp_path / raw_path.name.replace("-b1-", f"-b{B}-"))
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds summaries (schema 2), not raw tensors" in err


def test_evolution_can_start_from_the_anchors(caches, tmp_path):
    """``start`` puts hand designs (by proxy name or text) in the first population, checked
    like any program; a run of bare trees refuses components."""
    from eznas.gp.anchors import ANCHORS

    raw_path, summary_path = caches
    config = EvolveConfig(
        caches=[f"{raw_path}+{summary_path}"],
        population=6,
        generations=0,
        n_task=4,
        per_pair=4,
        components=2,
        start=["meco", "naswot"],
    )
    assert config.start == [ANCHORS["meco"].program, ANCHORS["naswot"].program]
    run = evolve(config, tmp_path / "run", verbose=False)
    assert run.population[:2] == config.start
    assert len(run.population) == 6
    with pytest.raises(ValueError, match="bare trees"):
        bare = EvolveConfig(caches=config.caches, population=4, generations=0, n_task=4,
                            per_pair=4, start=["meco"])  # fmt: skip
        evolve(bare, tmp_path / "bare", verbose=False)


def test_kind_patterns_choose_what_an_evolution_loads(caches, tmp_path):
    """``kinds`` (shell patterns) loads only the matching kinds, so programs draw on them
    alone: how a space of large networks fits in memory. A pattern matching nothing, or a
    kind the caches lack, is a one-line error."""
    from eznas.gp.evolve import Evolver
    from eznas.runtime import match_kinds

    raw_path, summary_path = caches
    assert match_kinds(["K_*", "L_*"]) == tuple(k for k in SUMMARY_KINDS if k[0] in "KL")
    assert match_kinds([]) is None
    config = EvolveConfig(
        caches=[str(summary_path)], population=6, generations=1, n_task=4, per_pair=4,
        kinds=["S_*", "K_T1_?"], components=2, net_ops=["mean", "min_step"],
    )  # fmt: skip
    evolver = Evolver(config)
    loaded = set(evolver.pairs[0].blocks.kinds())
    assert loaded == {k for k in SUMMARY_KINDS if k.startswith(("S_", "K_"))}
    assert set(evolver.pset.arguments) == loaded
    run = evolve(config, tmp_path / "run", verbose=False)
    assert all(any(k in text for k in loaded) for text in run.population)
    bad = "kind pattern 'Q_\\*' matches no tensor kind; allowed: T1_D"
    with pytest.raises(ValueError, match=bad):
        EvolveConfig(caches=[str(summary_path)], kinds=["Q_*"])
    with pytest.raises(BadFileError, match="holds no T2_D"):
        Evolver(EvolveConfig(caches=[str(summary_path)], n_task=4, kinds=["T2_D"]))
    code = main(["evolve", "--stats", str(summary_path), "--kinds", "L_*", "--population", "4",
                 "--generations", "0", "--n-task", "4", "--per-pair", "4", "--out",
                 str(tmp_path / "cli")])  # fmt: skip
    assert code == 0
    assert json.loads((tmp_path / "cli" / "config.json").read_text())["kinds"] == ["L_*"]


def test_collecting_a_subset_of_kinds(caches, tmp_path):
    """``kinds`` keeps only the matching kinds, bit-equal to the full cache's, in a file of
    its own name; a pattern no stored kind matches is a one-line error."""
    _, summary_path = caches
    path = collect(
        "nb201", DATASET, indices=NETS[:2], batch_size=B, summaries=True, out=tmp_path,
        kinds=["K_*", "L_T4_?"], progress=False,
    )  # fmt: skip
    assert path.name != summary_path.name and path.name.startswith(summary_path.stem)
    wanted = [k for k in SUMMARY_KINDS if k.startswith(("K_", "L_"))]
    with open_cache(path) as subset, open_cache(summary_path) as full:
        assert list(subset.kinds) == wanted
        for kind in wanted:
            for a, b in zip(subset.read(kind, NETS[:2]), full.read(kind, NETS[:2]), strict=True):
                np.testing.assert_array_equal(a, b)
    assert path.stat().st_size < summary_path.stat().st_size / 20
    again = collect(
        "nb201", DATASET, indices=NETS[:2], batch_size=B, summaries=True, out=tmp_path,
        kinds=["L_T4_?", "K_*"], progress=False,
    )  # fmt: skip
    assert again == path  # the same subset, however written: nothing to collect
    with pytest.raises(ValueError, match="'T2_D' matches no kind a summary cache stores"):
        collect("nb201", DATASET, indices=NETS[:1], batch_size=B, summaries=True, out=tmp_path,
                kinds=["T2_D"], progress=False)  # fmt: skip
