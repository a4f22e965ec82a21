"""Statistics collector and cache on real NB201 networks and real CIFAR-10 images."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from eznas.cli import main
from eznas.data import make_batches
from eznas.stats import KINDS, collect, collect_model, find_blocks, open_cache
from eznas.stats.cache import cache_name

# NB201 indices with 0, 1, 2, 3 and 5 conv edges
SMALL = (3, 9, 0, 1, 50)


@pytest.fixture(scope="module")
def batches():
    return make_batches("cifar10", batch_size=2, seed=0)


@pytest.fixture(scope="module")
def small_batches():
    """16x16 inputs (ImageNet16-120 stand-in): 4x cheaper for the tensor-level checks."""
    return make_batches("ImageNet16-120", batch_size=2, seed=0)


def build(space, table, index, seed=0, dataset="cifar10"):
    torch.manual_seed(seed)
    return space.build(table.arch(index), dataset)


def test_kinds_contract():
    assert len(KINDS) == 22 and len(set(KINDS)) == 22
    assert {"T3", "T1_D", "T4_P", "T1G_N", "T3G_D", "T4G_P"} <= set(KINDS)


@pytest.mark.parametrize("index", SMALL)
def test_rcb_count_is_conv_edges_times_15_plus_4(space, table, batches, index):
    arch = table.arch(index)
    blocks = find_blocks(build(space, table, index), batches.D)
    assert len(blocks) == space.conv_edges(arch) * 15 + 4
    assert not any(name.startswith("stem") for b in blocks for name in b.names)
    assert sum("conv_a" in b.name or "conv_b" in b.name for b in blocks) == 4


def test_cbr_pattern_follows_data_flow(space, table, batches):
    # conv_a -> BN feeds conv_b's ReLU directly; the stem's Conv-BN feeds each node-0 ReLU
    # of the first cell; cell edges are summed before any ReLU, so they are never CBRs.
    arch = table.arch(50)
    blocks = find_blocks(build(space, table, 50), batches.D, pattern="cbr")
    ops = space.ops(arch)
    from_stem = sum(ops[i].startswith("nor_conv") for i in (0, 1, 3))  # edges leaving node 0
    assert len(blocks) == 2 + from_stem
    assert sum(b.names[0].endswith("conv_a.1") for b in blocks) == 2


def test_tensors_are_relu_conv_relations(space, table, small_batches):
    model = build(space, table, 50, dataset="ImageNet16-120")
    stats = collect_model(model, small_batches)
    for block in stats:
        assert set(block) == set(KINDS)
        for x in "DNP":
            t1, t2, t4, w = block[f"T1_{x}"], block[f"T2_{x}"], block[f"T4_{x}"], block["T3"]
            assert t1.shape == t2.shape and t1.shape[:2] == (2, w.shape[1])
            assert t4.shape[:2] == (2, w.shape[0])
            assert torch.equal(t2, t1.relu())
            stride = t2.shape[-1] // t4.shape[-1]
            expect = F.conv2d(t2, w, stride=stride, padding=w.shape[-1] // 2)
            torch.testing.assert_close(t4, expect, rtol=1e-5, atol=1e-5)
            assert block[f"T3G_{x}"].shape == w.shape
            for base in ("T1", "T2", "T4"):
                assert block[f"{base}G_{x}"].shape == block[f"{base}_{x}"].shape
    first_conv = next(m for m in model.cells[0].modules() if isinstance(m, nn.Conv2d))
    assert torch.equal(first_conv.weight.detach(), stats[0]["T3"])


@pytest.mark.parametrize("x", ["D", "N", "P"])
def test_gradients_match_independent_backward(space, x):
    """Recompute with retain_grad + loss.backward() on a small NB201 net (2 cells, 4 ch)."""
    small = type(space)(channels=4, cells=1)
    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|"
    b = make_batches("cifar10", batch_size=3, seed=1)
    torch.manual_seed(0)
    model = small.build(arch, "cifar10")
    stats = collect_model(model, b)

    torch.manual_seed(0)
    twin = small.build(arch, "cifar10").train()
    relus, convs = [], []

    def keep_relu(module, inputs, output):
        inputs[0].retain_grad()
        output.retain_grad()
        relus.append((inputs[0], output))

    def keep_conv(module, inputs, output):
        output.retain_grad()
        convs.append((output, module.weight))

    for seq in twin.modules():
        if isinstance(seq, nn.Sequential) and isinstance(seq[0], nn.ReLU):
            seq[0].register_forward_hook(keep_relu)
            seq[1].register_forward_hook(keep_conv)
    F.cross_entropy(twin(b[x]), b.labels).backward()
    assert len(relus) == len(convs) == len(stats) == 3 * 3 + 4
    for block, (t1, t2), (t4, w) in zip(stats, relus, convs, strict=True):
        torch.testing.assert_close(block[f"T1_{x}"], t1.detach())
        torch.testing.assert_close(block["T3"], w.detach())
        torch.testing.assert_close(block[f"T1G_{x}"], t1.grad)
        torch.testing.assert_close(block[f"T2G_{x}"], t2.grad)
        torch.testing.assert_close(block[f"T3G_{x}"], w.grad)
        torch.testing.assert_close(block[f"T4G_{x}"], t4.grad)


def test_inputs_differ_as_specified(space, table, small_batches):
    model = build(space, table, 1, dataset="ImageNet16-120")
    stats = collect_model(model, small_batches)
    first = stats[0]  # edge 0->1 is a conv: its T1 is the stem's output
    for x in "DNP":
        torch.testing.assert_close(first[f"T1_{x}"], model.stem(small_batches[x]).detach())
    assert not torch.equal(first["T1_D"], first["T1_N"])
    assert not torch.equal(first["T1_P"], first["T1_D"])
    assert not torch.equal(first["T3G_D"], first["T3G_N"])
    only_n = collect_model(
        build(space, table, 1, dataset="ImageNet16-120"), small_batches, kinds=["T4G_N", "T1_N"]
    )
    assert all(set(s) == {"T4G_N", "T1_N"} for s in only_n)
    torch.testing.assert_close(only_n[0]["T4G_N"], first["T4G_N"])


def test_only_forward_when_no_gradient_requested(space, table, batches):
    model = build(space, table, 9)
    stats = collect_model(model, batches, kinds=["T1_D", "T3"])
    assert all(set(s) == {"T1_D", "T3"} for s in stats)
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="T7_D"):
        collect_model(model, batches, kinds=["T7_D"])
    with pytest.raises(ValueError, match="'rbc'"):
        collect_model(model, batches, pattern="rbc")


def test_cache_round_trip_and_errors(space, table, tmp_path):
    path = collect(
        dataset="ImageNet16-120", indices=[3, 9], batch_size=2, out=tmp_path, progress=False
    )
    assert path.name == "nb201-ImageNet16-120-rcb-b2-s0.h5"
    assert not (tmp_path / (path.name + ".parts")).exists()
    b = make_batches("ImageNet16-120", batch_size=2, seed=0)
    with open_cache(path) as cache:
        assert cache.networks() == [3, 9]
        assert cache.attrs["batch_size"] == 2 and cache.attrs["schema_version"] == 1
        meta = cache.meta(9)
        assert meta["arch"] == table.arch(9) and meta["rcb_count"] == 19
        assert meta["accuracy"] == pytest.approx(table.accuracy(9, "ImageNet16-120"))
        live = collect_model(build(space, table, 9, dataset="ImageNet16-120"), b)
        for kind in KINDS:
            stored = cache.read(kind, [9])[0]
            assert len(stored) == 19
            for arr, ref in zip(stored, live, strict=True):
                np.testing.assert_array_equal(arr, ref[kind].numpy())
        one = cache.read("T4G_P", [3, 9], blocks=[-1])
        np.testing.assert_array_equal(one[1][0], live[-1]["T4G_P"].numpy())
        blocks = list(cache.iter_blocks(3))
        assert len(blocks) == 4 and set(blocks[0]) == set(KINDS)
        with pytest.raises(KeyError, match="network 5 "):
            cache.meta(5)
        with pytest.raises(KeyError, match="T9"):
            cache.read("T9", [3])
    with pytest.raises(FileNotFoundError, match="eznas collect"):
        open_cache(tmp_path / "nope.h5")
    with h5py.File(path, "a") as handle:
        handle.attrs["schema_version"] = 99
    with pytest.raises(ValueError, match="schema version 99"):
        open_cache(path)


def test_float16_file_name_and_storage(tmp_path):
    path = collect(indices=[3], dtype="float16", out=tmp_path, progress=False)
    assert path.name == cache_name("nb201", "cifar10", "rcb", 1, 0, "float16")
    assert path.name.endswith("-s0-f16.h5")
    with open_cache(path) as cache:
        assert cache.read("T1_D", [3])[0][0].dtype == np.float16
    with pytest.raises(ValueError, match="'float64'"):
        collect(indices=[3], dtype="float64", out=tmp_path, progress=False)


def test_compression_changes_size_not_content(tmp_path):
    paths = {
        c: collect(indices=[3], compression=c, out=tmp_path / c, progress=False)
        for c in ("gzip", "none")
    }
    assert paths["gzip"].stat().st_size < 0.9 * paths["none"].stat().st_size
    with open_cache(paths["gzip"]) as a, open_cache(paths["none"]) as b:
        for kind in KINDS:
            for x, y in zip(a.read(kind, [3])[0], b.read(kind, [3])[0], strict=True):
                np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="'zstd'"):
        collect(indices=[3], compression="zstd", out=tmp_path, progress=False)


KILLED_RUN = """
import sys
from eznas.stats import collect
collect(dataset="ImageNet16-120", indices=[3, 15, 25, 50], out=sys.argv[1], progress=False)
"""


def test_kill_9_then_rerun_equals_uninterrupted_run(tmp_path):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(killed)])
    name = cache_name("nb201", "ImageNet16-120", "rcb", 1, 0, "float32")
    parts = killed / (name + ".parts")
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("net-*.h5"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with open_cache(killed / name) as cache:  # readable, only complete networks visible
        partial = cache.networks()
        assert 1 <= len(partial) < 4
        assert all(cache.meta(i)["rcb_count"] >= 4 for i in partial)

    argv = ["collect", "--dataset", "ImageNet16-120", "--indices", "3", "15", "25", "50"]
    assert main([*argv, "--out", str(killed)]) == 0
    assert main([*argv, "--out", str(clean)]) == 0
    assert not parts.exists()
    with open_cache(killed / name) as a, open_cache(clean / name) as b:
        assert a.networks() == b.networks() == [3, 15, 25, 50]
        for index in a.networks():
            assert a.meta(index) == b.meta(index)
            for kind in KINDS:
                for x, y in zip(a.read(kind, [index])[0], b.read(kind, [index])[0], strict=True):
                    np.testing.assert_array_equal(x, y)
