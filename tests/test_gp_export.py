"""Export round trip: the standalone module scores like the evolver's stacked evaluation."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import torch

from eznas.data import make_batches
from eznas.gp.export import export_program, formula
from eznas.gp.program import BlockSet, compile_tree, evaluate
from eznas.spaces import get_space
from eznas.stats import collect_model

ARCHS = (
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
    "|nor_conv_1x1~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|",
    "|skip_connect~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|avg_pool_3x3~2|",
)
PROGRAMS = (
    "mul(T3, T3G_D)",
    "l2(sub(T1_P, T2_N))",
    "logdet(gram_sample(T3))",
    "mean(div(T4G_N, add(T4_D, T4_P)))",
    "cosine(T1G_D, T1G_P)",
    "trace(gram_channel(T2G_N))",
    "eig_entropy(gram_channel(T4_D))",
    "add(cond(code_gram(T1_P)), eff_rank(gram_sample(T4G_D)))",
    "eig_min(corr_channel(T2_D))",
)
DATASET = "ImageNet16-120"


def load_module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def models():
    space = get_space("nb201")
    out = []
    for i, arch in enumerate(ARCHS):
        torch.manual_seed(i)
        out.append(space.build(arch, DATASET))
    return out


@pytest.fixture(scope="module")
def batches():
    return make_batches(DATASET, 2, 7)


@pytest.fixture(scope="module")
def blocks(models, batches):
    return BlockSet.from_blocks([collect_model(m, batches) for m in models])


@pytest.mark.parametrize("text", PROGRAMS)
def test_exported_module_matches_evolver(text, tmp_path, models, batches, blocks):
    path = export_program(text, tmp_path / "my_proxy.py", batch_size=2)
    module = load_module(path)
    assert "import eznas" not in path.read_text()
    assert text in module.__doc__ and str(formula(text)) in module.__doc__
    program = compile_tree(text)
    assert module.PROXY_INFO["kinds"] == list(program.kinds)
    assert module.PROXY_INFO["needs_grad"] == ("G_" in text)
    expected = evaluate([program], blocks)[0]
    direct = [module.score_model(m, batches.D, batches.labels, seed=7) for m in models]
    np.testing.assert_allclose(direct, expected, rtol=1e-5)
    assert all(not p.requires_grad or p.grad is None for m in models for p in m.parameters())


def test_inputs_are_made_like_make_batches(tmp_path, batches):
    module = load_module(export_program("mean(T1_N)", tmp_path / "noise_proxy.py"))
    made = module.make_inputs(batches.D, 7)
    for kind in "DNP":
        assert torch.equal(made[kind], batches[kind]), kind
    assert "torch" in sys.modules


@pytest.mark.parametrize("aggregate", ["min_step", "last_first", "std"])
def test_exported_network_ops_match_the_evaluator(aggregate, tmp_path, models, batches, blocks):
    text = "eig_entropy(gram_channel(T4_D))"
    path = export_program(text, tmp_path / "depth_proxy.py", batch_size=2, aggregate=aggregate)
    module = load_module(path)
    expected = evaluate([compile_tree(text)], blocks, aggregate=aggregate)[0]
    direct = [module.score_model(m, batches.D, batches.labels, seed=7) for m in models]
    np.testing.assert_allclose(direct, expected, rtol=1e-5)


def test_a_file_reads_the_scored_spaces_own_blocks(tmp_path):
    """Transfer as it is: an NB201 (ReLU-Conv-BN) program given by path scores an NB101
    network on that space's Conv-BN-ReLU blocks, as the collector would capture them."""
    from eznas import open_benchmark
    from eznas.proxies import get_proxy
    from eznas.proxies.scoring import Scorer

    text = "mean(div(T4G_D, add(T1_D, T2_D)))"
    path = export_program(text, tmp_path / "nb201_proxy.py", batch_size=2, pattern="rcb")
    bench = open_benchmark("nb101")
    arch = bench.table.arch(0)
    scorer = Scorer(bench.space, "cifar10", 3, data_dir=bench.data_dir, batch_size=2)
    score = scorer(arch, get_proxy(str(path)))
    torch.manual_seed(3)
    stats = collect_model(bench.space.build(arch, "cifar10"), make_batches("cifar10", 2, 3), "cbr")
    assert score == pytest.approx(
        evaluate([compile_tree(text)], BlockSet.from_blocks([stats]))[0][0]
    )
