import itertools

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from eznas.benchmark import load_table
from eznas.benchmark.benchmarks import open_benchmark
from eznas.benchmark.nbmacro import nbmacro_entries
from eznas.correlation import run_correlation
from eznas.proxies import PROXIES
from eznas.proxies.trunk import block_features
from eznas.proxies.zen import gaussian_copy, pre_pooling
from eznas.search import search
from eznas.spaces import get_space
from eznas.stats import find_blocks


@pytest.fixture(scope="module")
def space():
    return get_space("nbmacro")


@pytest.fixture(scope="module")
def entries():
    return nbmacro_entries()


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def meta_params(space, arch: str) -> int:
    """Parameter count of a model built on the meta device (no memory, no init: fast)."""
    with torch.device("meta"):
        return count(space.build(arch, "cifar10"))


def test_params_exact_on_a_seeded_sample(space, entries):
    archs = list(space)
    for i in np.random.default_rng(0).choice(len(archs), size=200, replace=False):
        arch = archs[i]
        assert meta_params(space, arch) == entries[arch]["params"], arch


def test_enumeration_is_the_table_and_validate_round_trips(space):
    archs = list(space)
    assert len(archs) == len(set(archs)) == len(space) == 6561
    table = load_table("nbmacro")
    assert table.archs() == archs
    assert all(space.validate(a) == a for a in archs[::97])
    assert space.encode("02012100").tolist() == [0, 2, 0, 1, 2, 1, 0, 0]


@pytest.mark.parametrize(
    ("bad", "quoted"),
    [
        ("0201210", "'0201210' has 7 characters"),
        ("020121000", "9 characters"),
        ("02012300", "'3' at position 5"),
        ("0201x100", "'x' at position 4"),
        (2012100, "must be a string"),
    ],
)
def test_bad_archs_are_refused_quoting_the_bad_part(space, bad, quoted):
    with pytest.raises(ValueError, match=quoted):
        space.validate(bad)


def test_sample_mutate_crossover_are_seeded_and_valid(space):
    def run(seed):
        rng = np.random.default_rng(seed)
        samples = [space.sample(rng) for _ in range(100)]
        mutants = [space.mutate(a, rng) for a in samples]
        children = [space.crossover(a, b, rng) for a, b in itertools.pairwise(samples)]
        return samples, mutants, children

    samples, mutants, children = run(0)
    assert run(0) == (samples, mutants, children)
    assert len(set(samples)) > 95
    for arch, mutant in zip(samples, mutants, strict=True):
        assert space.validate(mutant) == mutant
        assert sum(a != b for a, b in zip(arch, mutant, strict=True)) == 1
    for (a, b), child in zip(itertools.pairwise(samples), children, strict=True):
        assert all(c in (x, y) for c, x, y in zip(child, a, b, strict=True))


def test_key_merges_moved_identities_and_the_file_agrees(space, entries):
    assert space.key("10" + "201" + "001") == space.key("10" + "210" + "010") == "10210010"
    assert space.key("12" + "012" + "000") != space.key("12" + "021" + "000")  # order kept
    assert space.key("00" + "000" + "000") != space.key("01" + "000" + "000")
    groups: dict[str, set[float]] = {}
    for arch, entry in entries.items():
        groups.setdefault(space.key(arch), set()).add(entry["mean_acc"])
    # The benchmark trained each distinct network once: equal keys, equal accuracy.
    assert len(groups) == 3969
    assert all(len(accs) == 1 for accs in groups.values())


def test_open_benchmark_covers_the_whole_space():
    bench = open_benchmark("nbmacro")
    assert bench.space.name == "nbmacro" and len(bench.space) == 6561
    assert type(bench.space).__name__ == "NBMacroSpace"
    assert bench.datasets == ("cifar10",)
    assert bench.table.accuracy("22212220", "cifar10") == pytest.approx(93.1267, abs=1e-4)
    assert bench.table.optimum("cifar10")[1] == pytest.approx(93.1267, abs=1e-4)


@pytest.mark.parametrize(
    ("arch", "blocks"),
    # Stem and head are one CBR each; MB blocks two (expand and depthwise; the projection
    # is Conv-BN without ReLU); identities none (the strided ones are Conv-BN).
    [("00000000", 2), ("10000000", 4), ("22212220", 16), ("11111111", 18)],
)
def test_block_finder_counts_conv_bn_relu_blocks(space, arch, blocks):
    torch.manual_seed(0)
    model = space.build(arch, "cifar10")
    found = find_blocks(model, torch.randn(2, 3, 32, 32), space.block_pattern)
    assert space.block_pattern == "cbr"
    assert len(found) == blocks
    assert all(b.conv.module.weight.dim() == 4 for b in found)


def test_skip_and_degree_count_the_residual_shortcuts(space, entries):
    skip, degree = PROXIES["skip"], PROXIES["degree"]
    # 02012100: shortcuts at positions 1, 3, 4 (not 5: a stage's first block has stride 2)
    assert skip.score(None, arch="02012100", space=space) == 3.0
    assert degree.score(None, arch="02012100", space=space) == 4 + 3  # 4 MB blocks
    assert skip.score(None, arch="22212220", space=space) == 4.0
    assert skip.score(None, arch="00000000", space=space) == 0.0
    assert skip.score(None, arch="10201001", space=space) == skip.score(
        None, arch="10210010", space=space
    )  # moved identities: the same network, the same count
    archs = sorted(entries)
    accuracy = [entries[a]["mean_acc"] for a in archs]
    counts = [skip.score(None, arch=a, space=space) for a in archs]
    assert kendalltau(counts, accuracy)[0] > 0.3  # 0.336 over all 6,561


def test_epsilon_refuses_the_macro_space(space):
    x = torch.zeros(2, 3, 32, 32)
    with pytest.raises(ValueError, match="published for nb201, nb101 only"):
        PROXIES["epsilon"].score(space.build("02012100", "cifar10"), x, space=space)
    # named beside other proxies, it is refused before any of them scores a network
    message = "'epsilon' is defined for the spaces nb201, nb101 only, not for 'nbmacro'"
    with pytest.raises(ValueError, match=message):
        run_correlation("nbmacro", proxies=["naswot", "epsilon"], n=2, cache=None, progress=False)
    with pytest.raises(ValueError, match=message):
        search("random", "nbmacro", proxy=["naswot", "epsilon"], evaluations=2, cache=None)


def test_zen_reads_the_map_entering_the_global_pooling(space):
    """Zen is defined on the feature map before global pooling, which every builder has."""
    model = space.build("02012100", "cifar10")
    x = torch.randn(4, 3, 32, 32)
    copy = gaussian_copy(model, 0).eval()
    with torch.no_grad():
        expected = copy.head(copy.cells(copy.stem(x)))
        assert torch.equal(pre_pooling(copy, x), expected)
    assert np.isfinite(PROXIES["zen"].score(model, x, seed=0, space=space))


def test_az_nas_blocks_are_the_layers_the_network_has(space):
    """An identity choice is a layer the network lacks: AZ-NAS's blocks skip it, so its
    trainability stays finite (it read the copy as a block and scored -inf: 41 of 42 archs)."""
    model = space.build("02012100", "cifar10")
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        features = block_features(model, x)
    # the stem, the strided 1x1 projections at positions 0 and 2, the 4 MB blocks; the
    # identities at positions 6 and 7 are not blocks
    assert len(features) == 1 + 2 + 4
    assert all(a is not b for a, b in zip(features, features[1:], strict=False))
    assert np.isfinite(PROXIES["az_trainability"].score(model, x, seed=0, space=space))
