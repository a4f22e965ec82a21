"""Hand-designed proxies on real NB201 networks and CIFAR-10 images.

Networks are NB201's own (same cells, stem, reductions, classifier) at reduced width and
depth (8 channels, 1 cell per stage) and batches are small, so the suite runs in seconds on
a shared CPU; full-size networks and default batches run in experiments/proxy_tables.py.
"""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from eznas.cli import main
from eznas.correlation import run_correlation
from eznas.data import data_batch
from eznas.metrics import correlate
from eznas.proxies import PROXIES, get_proxy
from eznas.proxies.scoring import Scorer
from eznas.spaces import get_space

CONVS = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|"
    "+|nor_conv_1x1~0|nor_conv_3x3~1|skip_connect~2|"
)
ONE_CONV = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|"
TWO_CONVS = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|"
SKIP_CONVS = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|"
    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)
EMPTY = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
SMALL = get_space("nb201", channels=8, cells=1)


@pytest.fixture(scope="module")
def batch():
    x, labels, _ = data_batch("cifar10", 16, 0)
    return x, labels


def score(name, arch, batch, seed=0, size=None):
    proxy = get_proxy(name)
    x, labels = batch
    n = size or min(len(x), proxy.batch_size)
    torch.manual_seed(seed)
    model = SMALL.build(arch, "cifar10")
    return proxy.score(model, x[:n], labels[:n], seed=seed, arch=arch, space=SMALL)


def test_skip_and_degree_follow_their_definitions(space):
    # skips 0->1 (bypasses nothing) and 0->3 (bypasses nodes 1 and 2)
    arch = "|skip_connect~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
    assert get_proxy("skip").score(None, arch=arch, space=space) == pytest.approx(1.0)
    assert get_proxy("degree").score(None, arch=arch, space=space) == 2 + 2
    assert get_proxy("skip").score(None, arch=EMPTY, space=space) == 0.0
    assert get_proxy("degree").score(None, arch=CONVS, space=space) == 4  # adjacent skips


@pytest.mark.parametrize("name", ["naswot", "synflow", "logsynflow"])
def test_data_proxies_are_deterministic_and_finite(name, batch):
    first = score(name, CONVS, batch)
    assert math.isfinite(first)
    assert score(name, CONVS, batch) == first
    assert score(name, CONVS, batch, seed=1) != first


def test_synflow_and_logsynflow_grow_with_an_added_conv_edge(batch):
    for name in ("synflow", "logsynflow"):
        assert score(name, TWO_CONVS, batch) > score(name, ONE_CONV, batch)


def test_naswot_separates_inputs_better_with_convs(batch):
    # the all-'none' cell maps every image to nearly the same codes
    assert score("naswot", CONVS, batch) > score("naswot", EMPTY, batch)


def test_lossslope_is_finite_seeded_and_positive_for_a_conv_net(batch):
    x = batch[0]

    def run(seed):
        torch.manual_seed(seed)
        model = SMALL.build(CONVS, "cifar10")
        return get_proxy("lossslope").score(model, x, seed=seed)

    value = run(0)
    assert math.isfinite(value) and value > 0  # the loss goes down
    assert run(0) == value


def test_lossslope_targets_follow_the_stage_layout_and_leave_the_model_untouched(batch):
    from eznas.proxies.lossslope import STAGES, synthetic_targets

    x = batch[0]
    targets = synthetic_targets(x, torch.Generator().manual_seed(0))
    assert [t.shape for t in targets] == [(16, c, 8, 8) for c, _ in STAGES]
    again = synthetic_targets(x, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(targets, again, strict=True))
    torch.manual_seed(0)
    model = SMALL.build(CONVS, "cifar10")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    get_proxy("lossslope").score(model, x, seed=0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_lossslope_ranks_a_network_without_convs_below_one_with_them(batch):
    # all-"none" cells pass zeros on, so only the heads' biases can fit the targets
    assert score("lossslope", CONVS, batch) > score("lossslope", EMPTY, batch)


def test_scorer_averages_inits():
    one = Scorer(SMALL, "cifar10", 0)
    three = Scorer(SMALL, "cifar10", 0, inits=3)
    runs = [Scorer(SMALL, "cifar10", s)(CONVS, "logsynflow") for s in (0, 1, 2)]
    # init i of seed 0 is built with torch seed i, like a Scorer of seed i (batch-free proxy)
    assert three(CONVS, "logsynflow") == pytest.approx(np.mean(runs))
    assert one(CONVS, "logsynflow") == pytest.approx(runs[0])


def test_every_registered_proxy_declares_its_needs():
    for proxy in PROXIES.values():
        assert proxy.batch_size >= 1 and proxy.description
        assert not (proxy.uses_arch and proxy.needs_data)


@pytest.mark.parametrize("name", ["snip", "grad_norm", "grasp", "fisher", "jacob_cov", "epsilon"])
def test_more_proxies_are_deterministic_and_finite(name, batch):
    # epsilon's 1e-7 copy underflows float32 along conv-only paths (the paper's NaNs), so
    # the network gets a direct input-to-output skip
    first = score(name, SKIP_CONVS, batch)
    assert math.isfinite(first)
    assert score(name, SKIP_CONVS, batch) == first


def test_gradient_saliencies_grow_with_an_added_conv_edge(batch):
    for name in ("snip", "grad_norm"):
        assert score(name, TWO_CONVS, batch) > score(name, ONE_CONV, batch), name


def test_saliencies_share_one_backward_pass_and_score_as_if_alone(monkeypatch):
    """snip, grad_norm and fisher read one loss backward per network (one model build, one
    pass) and score exactly what each scores on a model of its own; an in-place weight
    change is not served from the remembered pass."""
    import eznas.proxies.gradient as gradient

    scorer = Scorer(SMALL, "cifar10", seed=2, batch_size=16)
    names = ["snip", "params", "grad_norm", "fisher"]
    passes = []
    run = gradient._loss
    monkeypatch.setattr(gradient, "_loss", lambda *a: passes.append(1) or run(*a))
    shared = [scorer(arch, name) for arch in (CONVS, SKIP_CONVS) for name in names]
    assert len(passes) == 2
    alone = Scorer(SMALL, "cifar10", seed=2, batch_size=16)
    assert shared == [
        alone(arch, replace(get_proxy(name), shares_model=""))
        for arch in (CONVS, SKIP_CONVS)
        for name in names
    ]
    x, labels = data_batch("cifar10", 16, 0)[:2]
    torch.manual_seed(0)
    model = SMALL.build(CONVS, "cifar10")
    before = get_proxy("snip").score(model, x, labels)
    with torch.no_grad():
        next(model.parameters()).mul_(3.0)
    assert get_proxy("snip").score(model, x, labels) != before


def test_epsilon_of_a_constant_output_network_is_nan_and_counted(batch):
    # all-'none' cells: the classifier sees zeros, so every logit is the same constant
    assert math.isnan(score("epsilon", EMPTY, batch))
    assert math.isnan(score("jacob_cov", EMPTY, batch))
    archs = (EMPTY, SKIP_CONVS, ONE_CONV.replace("none~0|skip", "skip_connect~0|skip"))
    result = correlate([score("epsilon", a, batch) for a in archs], [1, 2, 3])
    assert result.nan == 1 and result.n == 2


EXPORTED = '''
import torch
from torch import nn

PROXY_INFO = {"name": "abs_conv", "batch_size": 4, "needs_labels": False,
              "needs_grad": False, "kinds": []}


def score_model(model, inputs, labels=None, *, seed=0):
    """Sum of |conv weights| times SCALE."""
    return SCALE * sum(
        float(m.weight.detach().abs().sum()) for m in model.modules() if isinstance(m, nn.Conv2d)
    )
'''


def test_exported_proxy_file_loads_and_its_key_follows_its_content(tmp_path, batch):
    path = tmp_path / "my_proxy.py"
    path.write_text(EXPORTED + "\nSCALE = 1.0\n")
    proxy = get_proxy(str(path))
    assert proxy.name.startswith("file:abs_conv@") and proxy.batch_size == 4
    torch.manual_seed(0)
    model = SMALL.build(CONVS, "cifar10")
    expected = sum(
        float(m.weight.detach().abs().sum())
        for m in model.modules()
        if isinstance(m, torch.nn.Conv2d)
    )
    assert proxy.score(model, batch[0][:4]) == pytest.approx(expected)
    scorer = Scorer(SMALL, "cifar10", 0)
    assert scorer(CONVS, str(path)) == pytest.approx(Scorer(SMALL, "cifar10", 0)(CONVS, proxy))
    path.write_text(EXPORTED + "\nSCALE = 2.0\n")
    changed = get_proxy(str(path))
    assert changed.name != proxy.name
    assert scorer.proxy_key(changed) != scorer.proxy_key(proxy)
    assert scorer(CONVS, str(path)) == pytest.approx(2 * scorer(CONVS, proxy))
    with pytest.raises(FileNotFoundError, match="missing.py"):
        get_proxy(str(tmp_path / "missing.py"))


def test_correlate_cli_with_exported_file_and_plots(tmp_path):
    path = tmp_path / "abs_conv.py"
    path.write_text(EXPORTED + "\nSCALE = 1.0\n")
    argv = ["correlate", "--proxy", "skip", str(path), "-n", "12", "--seed", "3"]
    argv += ["--out", str(tmp_path / "out"), "--cache", str(tmp_path / "s.sqlite"), "--plot"]
    assert main(argv) == 0
    plots = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert plots == [
        "scatter-nb201-cifar10-n12-s3-abs_conv.png",
        "scatter-nb201-cifar10-n12-s3-skip.png",
    ]
    # the second run is answered from the cache, params for the colours included
    report = run_correlation(proxies=["skip"], n=12, seed=3, cache=tmp_path / "s.sqlite")
    assert report.cached == 12


def test_a_real_evolver_export_scores_through_the_scorer(tmp_path):
    from eznas.gp.export import export_program

    path = export_program("mean(T1_N)", tmp_path / "noise_proxy.py", batch_size=2)
    proxy = get_proxy(str(path))
    assert proxy.name.startswith("file:eznas_proxy@") and proxy.batch_size == 2  # PROXY_INFO name
    value = Scorer(SMALL, "cifar10", 0)(CONVS, str(path))
    assert math.isfinite(value)
    assert Scorer(SMALL, "cifar10", 0)(CONVS, str(path)) == value


def test_proxies_leave_the_model_as_they_found_it(batch):
    torch.manual_seed(0)
    model = SMALL.build(SKIP_CONVS, "cifar10")
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    x, labels = batch
    for name, proxy in PROXIES.items():
        if not proxy.uses_arch:
            proxy.score(model, x[:8], labels[:8], seed=0)
        assert all(p.grad is None for p in model.parameters()), name
    after = dict(model.named_parameters())  # BN batch statistics may move, weights may not
    assert all(torch.equal(v, after[k]) for k, v in before.items())


def test_relu_units_count_every_relu_output_of_one_image(batch):
    # channels 8/16/32 at 32/16/8 pixels: 8192/4096/2048 units per feature map; the two
    # reductions read two maps each (their ReLU-Conv-BN pairs), the last BN-ReLU one, and each
    # conv edge of a cell one map of its stage
    base = 8192 + 4096 + 4096 + 2048 + 2048
    units = [score("relu_units", arch, batch) * 1e3 for arch in (CONVS, ONE_CONV, EMPTY)]
    assert units == [base + 4 * 14336, base + 14336, base]


def test_depth_counts_the_convs_of_the_longest_signal_path(batch):
    # stem + 3 cells x their longest conv chain + 2 reductions x 2 convs + classifier; a
    # 'none' edge carries no path, and a network whose output ignores its input has depth 0
    depths = [score("depth", arch, batch) for arch in (CONVS, ONE_CONV, TWO_CONVS, EMPTY)]
    assert depths == [1 + 3 * 2 + 4 + 1, 1 + 3 * 1 + 4 + 1, 1 + 3 * 2 + 4 + 1, 0]
    # NAS-Bench-Macro: stem, 3 stride-2 projections or 3 convs per inverted residual, head
    macro = get_space("nbmacro")
    x = batch[0][:1]
    keys = ("00000000", "00000001", "00000002", "22222222")
    scores = [get_proxy("depth").score(macro.build(k, "cifar10"), x) for k in keys]
    assert scores == [1 + 3 + 1 + 1, 1 + 3 + 3 + 1 + 1, 9, 1 + 8 * 3 + 1 + 1]
