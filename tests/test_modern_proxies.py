"""AZ-NAS, VKDNW, ZiCo, MeCo, SWAP, TE-NAS, Zen and combos on real NB201 nets and CIFAR-10.

Most checks use NB201's own cells at reduced width and depth (8 channels, 1 cell per stage)
with small real batches so the file runs in well under a minute on one core; one test runs
every proxy on full-size NB201 networks from the benchmark table.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from eznas.correlation import run_correlation
from eznas.data import data_batch
from eznas.proxies import get_proxy
from eznas.proxies.az_nas import kaiming_fanin_copy
from eznas.proxies.combo import Combo, aggregate, parse_combo
from eznas.proxies.meco import min_correlation_eigenvalue
from eznas.proxies.scoring import Scorer
from eznas.proxies.swap import distinct_rows, relu_patterns
from eznas.proxies.trunk import block_features
from eznas.proxies.vkdnw import first_element_jacobian, fisher_information
from eznas.proxies.zen import gaussian_copy
from eznas.search.base import SearchContext
from eznas.search.budget import Budget
from eznas.spaces import get_space

NEW = (
    "az_expressivity",
    "az_progressivity",
    "az_trainability",
    "vkdnw",
    "vkdnw_entropy",
    "zico",
    "meco",
    "swap",
    "tenas_ntk",
    "tenas_regions",
    "zen",
)
CONVS = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|"
    "+|nor_conv_1x1~0|nor_conv_3x3~1|skip_connect~2|"
)
ONE_CONV = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|"
IDENTITY = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"  # cell output = input
EMPTY = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
SMALL = get_space("nb201", channels=8, cells=1)


@pytest.fixture(scope="module")
def batch():
    x, labels, _ = data_batch("cifar10", 16, 0)
    return x, labels


def score(name, arch, batch, seed=0, size=16, space=SMALL):
    x, labels = batch
    torch.manual_seed(seed)
    model = space.build(arch, "cifar10")
    return get_proxy(name).score(model, x[:size], labels[:size], seed=seed, arch=arch, space=space)


@pytest.mark.parametrize("name", NEW)
def test_deterministic_per_seed_and_finite(name, batch):
    first = score(name, CONVS, batch)
    assert math.isfinite(first)
    assert score(name, CONVS, batch) == first
    assert math.isfinite(score(name, CONVS, batch, seed=1))


def test_finite_on_full_size_benchmark_networks(space, table, batch):
    for index in (0, 5000):
        values = {n: score(n, table.arch(index), batch, size=8, space=space) for n in NEW}
        assert all(math.isfinite(v) for v in values.values()), (table.arch(index), values)


def test_pairs_ordered_as_the_definitions_imply(batch):
    # a cell that passes its input through unchanged has a block Jacobian of exactly I
    assert score("az_trainability", IDENTITY, batch) == -math.inf
    # VKDNW ranks by the number of parameter tensors first
    assert score("vkdnw", CONVS, batch) > score("vkdnw", ONE_CONV, batch)
    # no cells: the reductions' ReLUs see zeros, so every sample shares one pattern
    assert score("tenas_regions", EMPTY, batch) == 1.0 < score("tenas_regions", CONVS, batch)
    assert (
        score("swap", EMPTY, batch) < score("swap", ONE_CONV, batch) < score("swap", CONVS, batch)
    )
    assert score("zen", EMPTY, batch) == -math.inf < score("zen", ONE_CONV, batch)


def _entropy(feature: torch.Tensor) -> float:
    flat = feature.detach().permute(0, 2, 3, 1).reshape(-1, feature.shape[1]).double().numpy()
    eig = np.clip(np.linalg.eigvalsh(np.cov(flat, rowvar=False, bias=True)), 0, None)
    prob = eig / eig.sum()
    return float(-(prob * np.log(prob + 1e-8)).sum())


def test_az_components_match_a_direct_computation(batch):
    x, labels = batch
    torch.manual_seed(0)
    model = SMALL.build(CONVS, "cifar10")
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    copy = kaiming_fanin_copy(model, 0).train()
    entropies = [_entropy(f) for f in block_features(copy, noise)]
    proxy = get_proxy("az_expressivity").score(model, x, labels, seed=0)
    assert proxy == pytest.approx(sum(entropies), rel=1e-6)
    steps = np.diff(entropies)
    assert get_proxy("az_progressivity").score(model, x, labels, seed=0) == pytest.approx(
        steps.min(), rel=1e-5, abs=1e-7
    )
    # two channels of equal variance and no correlation: entropy ln 2
    two = torch.tensor([[1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0]]).view(1, 2, 2, 2)
    assert _entropy(two) == pytest.approx(math.log(2), abs=1e-6)


def test_vkdnw_fisher_matches_per_sample_backpropagation(batch):
    x, _ = batch
    torch.manual_seed(0)
    model = SMALL.build(ONE_CONV, "cifar10")
    jac = first_element_jacobian(model, x[:3])
    model.train()
    for n in range(3):  # one sample in train mode: BN normalises it alone
        for k in (0, 7):
            model.zero_grad()
            model(x[n : n + 1])[0, k].backward()
            direct = torch.stack([p.grad.flatten()[0] for p in model.parameters()])
            assert torch.allclose(jac[n, k], direct, atol=1e-6)
    model.zero_grad()
    fisher = fisher_information(model, x[:3])
    prob = 0.95 * torch.softmax(model.train()(x[:3]).double(), 1).detach() + 0.005
    direct = sum(
        jac[n].double().T @ (torch.diag(prob[n]) - torch.outer(prob[n], prob[n])) @ jac[n].double()
        for n in range(3)
    )
    assert torch.allclose(fisher, direct / 3, atol=1e-9)


def test_pattern_counts_and_meco_match_direct_computations(batch):
    x, _ = batch
    bits = torch.tensor([[1, 0, 1], [1, 0, 1], [0, 0, 0], [1, 1, 1]], dtype=torch.bool)
    assert distinct_rows(bits) == 3 and distinct_rows(bits.T) == 2
    torch.manual_seed(0)
    codes = torch.cat([c.T for c in relu_patterns(SMALL.build(ONE_CONV, "cifar10"), x)])
    assert distinct_rows(codes) == len({tuple(row) for row in codes.tolist()})
    feature = torch.randn(1, 5, 4, 4, generator=torch.Generator().manual_seed(0))
    corr = np.corrcoef(feature[0].flatten(1).numpy())
    assert min_correlation_eigenvalue(feature) == pytest.approx(np.linalg.eigvalsh(corr)[0])


def test_zico_matches_its_definition_on_two_halves(batch):
    x, labels = batch
    torch.manual_seed(0)
    model = SMALL.build(ONE_CONV, "cifar10")
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    halves = []
    for part in (slice(0, 8), slice(8, 16)):
        model.zero_grad()
        F.cross_entropy(model.train()(x[part]), labels[part]).backward()
        halves.append([m.weight.grad.flatten().double().numpy().copy() for m in layers])
    total = 0.0
    for a, b in zip(*halves, strict=True):
        grads = np.stack([a, b])
        std, mean = grads.std(0), np.abs(grads).mean(0)
        total += np.log((mean[std > 0] / std[std > 0]).sum())
    model.zero_grad()
    assert get_proxy("zico").score(model, x, labels) == pytest.approx(total, rel=1e-6)


def test_tenas_ntk_is_minus_the_condition_number_of_the_jacobians_gram(batch):
    """The NTK from the full Jacobian of the summed logits over every weight tensor (one
    ``autograd.functional.jacobian`` of the flattened weights), not per-sample backwards."""
    x, labels = batch
    torch.manual_seed(0)
    model = SMALL.build(CONVS, "cifar10").train()
    names = [n for n, _ in model.named_parameters() if n.endswith("weight")]
    shapes = [p.shape for n, p in model.named_parameters() if n.endswith("weight")]
    flat = torch.cat([p.detach().flatten() for n, p in model.named_parameters() if n in names])

    def summed_logits(vector):
        parts = torch.split(vector, [math.prod(s) for s in shapes])
        weights = {n: w.view(s) for n, w, s in zip(names, parts, shapes, strict=True)}
        return torch.func.functional_call(model, weights, (x,)).sum(1)

    jac = torch.autograd.functional.jacobian(summed_logits, flat).double()
    eig = torch.linalg.eigvalsh(jac @ jac.T)
    expected = -float(eig[-1] / eig[0])
    torch.manual_seed(0)
    model = SMALL.build(CONVS, "cifar10")
    assert get_proxy("tenas_ntk").score(model, x, labels) == pytest.approx(expected, rel=1e-4)


def test_zen_adds_the_bn_log_stds_to_the_log_output_change(batch):
    """Zen on the Gaussian copy, from its definition: log mean_b ||f(x) - f(x + 0.01 eps)||_1
    plus, per BatchNorm, log sqrt(mean over channels of the batch variance of its input)."""
    x, labels = batch
    torch.manual_seed(0)
    model = SMALL.build(CONVS, "cifar10")
    copy = gaussian_copy(model, 0).train()
    gen = torch.Generator().manual_seed(0)
    clean_x = torch.randn(x.shape, generator=gen)
    eps = torch.randn(x.shape, generator=gen)
    inputs = []
    bns = [m for m in copy.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    handles = [m.register_forward_hook(lambda m, a, o: inputs.append(a[0])) for m in bns]
    with torch.no_grad():
        clean = copy.lastact(copy.cells(copy.stem(clean_x)))
        for handle in handles:
            handle.remove()
        moved = copy.lastact(copy.cells(copy.stem(clean_x + 0.01 * eps)))
    change = (clean - moved).abs().sum((1, 2, 3)).mean()
    stds = sum(0.5 * math.log(float(t.var((0, 2, 3), correction=0).mean())) for t in inputs)
    assert len(inputs) == len(bns)
    expected = math.log(float(change)) + stds
    assert get_proxy("zen").score(model, x, labels, seed=0) == pytest.approx(expected, rel=1e-6)


def test_combo_parses_and_aggregates_as_defined():
    combo = get_proxy("combo:logrank(naswot, synflow)")
    assert isinstance(combo, Combo) and combo.components == ("naswot", "synflow")
    assert parse_combo("az_nas").components[-1] == "flops"
    scores = np.array([[1.0, 30.0], [2.0, 10.0], [3.0, 20.0]])
    by_hand = [
        math.log(1 / 3) + math.log(3 / 3),
        math.log(2 / 3) + math.log(1 / 3),
        math.log(3 / 3) + math.log(2 / 3),
    ]
    assert aggregate("combo:logrank(naswot,synflow)", scores) == pytest.approx(by_hand)
    assert aggregate("combo:ranksum(naswot,synflow)", scores).tolist() == [4, 3, 5]
    # a NaN component ranks below every finite score, ties share the average rank
    scores = np.array([[np.nan, 1.0], [-np.inf, 1.0], [5.0, 2.0]])
    assert aggregate("combo:ranksum(naswot,synflow)", scores).tolist() == [3, 3, 6]
    zsum = aggregate("combo:zsum(naswot,synflow)", np.array([[0.0, 10.0], [1.0, 0.0], [1.0, 10]]))
    assert zsum.tolist() == pytest.approx([1 - 0.5, 1 - 0.5, 2.0])  # sum minus std


@pytest.mark.parametrize(
    "name, message",
    [
        ("combo:best(naswot,synflow)", "unknown aggregator 'best'; allowed: logrank, ranksum"),
        ("combo:logrank(naswot,nope)", "'nope' is not a per-network proxy"),
        ("combo:logrank(naswot,az_nas)", "'az_nas' is not a per-network proxy"),
        ("combo:logrank(naswot)", "needs at least two"),
        ("combo:logrank(naswot,naswot)", "repeats a component"),
        ("combo:logrank naswot", "is not of the form"),
    ],
)
def test_combo_errors_are_one_line(name, message):
    with pytest.raises(ValueError, match=message) as error:
        get_proxy(name)
    assert "\n" not in str(error.value)


def test_combo_has_no_per_network_score(space):
    with pytest.raises(ValueError, match="no per-network score; score its components"):
        Scorer(space, "cifar10", 0, cache=None)(CONVS, "az_nas")
    with pytest.raises(ValueError, match="no per-network score"):
        get_proxy("tenas").score(None)


def test_combo_through_run_correlation(tmp_path):
    name = "combo:logrank(params,flops,skip)"
    report = run_correlation(
        proxies=[name, "params", "skip"], n=6, seed=2, cache=tmp_path / "s.sqlite", progress=False
    )
    flops = run_correlation(proxies=["flops"], n=6, seed=2, cache=tmp_path / "s.sqlite").scores
    parts = np.column_stack([report.scores["params"], flops["flops"], report.scores["skip"]])
    assert report.scores[name] == pytest.approx(aggregate(name, parts))
    assert set(report.results) == {name, "params", "skip"}
    assert report.seconds[name] >= report.seconds["params"]


def test_search_fitness_aggregates_over_everything_evaluated(space):
    scorer = Scorer(space, "cifar10", 0, cache=None)
    rng = np.random.default_rng(0)
    ctx = SearchContext(space, rng, scorer, Budget(evaluations=10), ("combo:ranksum(params,skip)",))
    assert ctx.proxies == ("params", "skip") and ctx.aggregator == "ranksum"
    archs = [space.sample(rng) for _ in range(6)]
    fitness = ctx.fitness(archs)
    matrix = np.array([ctx.seen[a] for a in ctx.seen])
    expected = aggregate("combo:ranksum(params,skip)", matrix)
    row = {a: i for i, a in enumerate(ctx.seen)}
    assert fitness.tolist() == [expected[row[a]] for a in archs]
    # a combo beside other proxies (FreeREA's sum with a combo in one metric's place): the
    # combo's members combine into one column first, then the columns by the sum
    mixed = SearchContext(
        space, rng, scorer, Budget(evaluations=10), ("combo:ranksum(params,skip)", "flops"),
    )  # fmt: skip
    assert mixed.proxies == ("params", "skip", "flops") and mixed.aggregator == "zsum"
    fitness = mixed.fitness(archs)
    matrix = np.array([mixed.seen[a] for a in archs])
    inner = aggregate("combo:ranksum(params,skip)", matrix[:, :2])
    expected = aggregate("combo:zsum(params,flops)", np.column_stack([inner, matrix[:, 2]]))
    assert fitness.tolist() == pytest.approx(expected.tolist())


def test_inits_average_and_cache(tmp_path):
    scorer = Scorer(SMALL, "cifar10", 0, cache=tmp_path / "s.sqlite", inits=2)
    value = scorer(CONVS, "az_expressivity")
    x, labels, _ = data_batch("cifar10", 64, 0)
    direct = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = SMALL.build(CONVS, "cifar10")
        direct.append(get_proxy("az_expressivity").score(model, x, labels, seed=seed))
    assert value == pytest.approx(np.mean(direct))
    assert scorer(CONVS, "az_expressivity") == value and scorer.hits == 1


def test_shared_computation_is_remembered_per_arch_only():
    """NB101 cells can share a module repr: the memo keys on the scored arch too."""
    from eznas.proxies.init import last_network_memo

    calls = []

    @last_network_memo
    def count(model, inputs, seed):
        calls.append(seed)
        return len(calls)

    model, x = torch.nn.Linear(2, 2), torch.zeros(1, 2)
    assert count(model, x, 0, "a") == count(model, x, 0, "a") == 1
    assert count(model, x, 0, "b") == 2  # the same repr, another arch: computed again
    assert count(model, x, 0) == 3 and count(model, x, 0) == 4  # no arch: never kept
