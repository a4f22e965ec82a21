import numpy as np
import pytest
import torch

from eznas.benchmark import load_table
from eznas.data import load_images, make_batches
from eznas.paths import DataNotFoundError, find_data


def test_cifar10_images_are_the_real_pickles():
    images = load_images("cifar10")
    assert images.images.shape == (5506, 3, 32, 32)
    assert images.images.dtype == np.uint8
    assert set(np.unique(images.labels)) == set(range(10))
    assert not images.stand_in


def test_stand_ins_are_reported():
    small = load_images("ImageNet16-120")
    assert small.stand_in and "stand-in" in small.source
    assert small.images.shape == (5506, 3, 16, 16)
    assert load_images("cifar100").stand_in


def test_dnp_deterministic_per_seed():
    a, b = make_batches("cifar10", 8, seed=3), make_batches("cifar10", 8, seed=3)
    c = make_batches("cifar10", 8, seed=4)
    for kind in "DNP":
        assert torch.equal(a[kind], b[kind])
        assert not torch.equal(a[kind], c[kind])
    assert torch.equal(a.labels, b.labels)


def test_dnp_are_as_specified():
    batches = make_batches("cifar10", 64, seed=0)
    assert batches.D.shape == batches.N.shape == batches.P.shape == (64, 3, 32, 32)
    # D is normalised data: roughly zero mean, unit std per channel
    assert abs(batches.D.mean().item()) < 0.3 and 0.7 < batches.D.std().item() < 1.3
    # N is N(0, 1) noise, independent of D
    assert abs(batches.N.mean().item()) < 0.02 and abs(batches.N.std().item() - 1) < 0.02
    # P = D + N(0, 1) noise that is not N itself
    noise = batches.P - batches.D
    assert abs(noise.std().item() - 1) < 0.02
    assert not torch.allclose(noise, batches.N)
    assert make_batches("ImageNet16-120", 2, seed=0).D.shape == (2, 3, 16, 16)


def test_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size 10000 exceeds"):
        make_batches("cifar10", 10000)
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        make_batches("mnist", 2)


def test_missing_data_names_file_and_places(tmp_path, monkeypatch):
    with pytest.raises(DataNotFoundError) as err:
        find_data("nb201_accuracies.csv", tmp_path)
    assert "nb201_accuracies.csv" in str(err.value) and str(tmp_path) in str(err.value)
    with pytest.raises(DataNotFoundError, match="cifar-10-batches-py"):
        load_images("cifar10", tmp_path)
    monkeypatch.setenv("EZNAS_DATA", str(tmp_path / "nowhere"))
    monkeypatch.chdir(tmp_path)
    # the env var is consulted first and named in the message
    with pytest.raises(DataNotFoundError, match="no_such_file.csv") as err:
        find_data("no_such_file.csv")
    assert str(tmp_path / "nowhere") in str(err.value)


def test_env_var_points_at_data(monkeypatch):
    real = find_data("nb201_accuracies.csv").parent
    monkeypatch.setenv("EZNAS_DATA", str(real))
    assert len(load_table("nb201")) == 15625
