"""Image loaders for the standard python-pickle releases of CIFAR-10/100 and ImageNet16-120.

Images come back as uint8 arrays (n, 3, H, W) with integer labels; normalisation happens
when a batch is built so the raw arrays can be cached once per process.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from eznas.paths import DataNotFoundError, find_data

FOLDERS = {
    "cifar10": "cifar-10-batches-py",
    "cifar100": "cifar-100-python",
    "ImageNet16-120": "ImageNet16",
}


@dataclass(frozen=True)
class ImageSet:
    images: np.ndarray  # uint8 (n, 3, H, W)
    labels: np.ndarray  # int64 (n,)
    source: str  # which files the images came from, for reports
    stand_in: bool = False  # True when another dataset's images stand in


def _unpickle(path: Path) -> dict:
    """Load one pickle; keys may be bytes or str depending on who pickled it."""
    with path.open("rb") as handle:
        content = pickle.load(handle, encoding="bytes")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in content.items()}


def _cifar10(folder: Path) -> ImageSet:
    files = [folder / f"data_batch_{i}" for i in range(1, 6)] + [folder / "test_batch"]
    parts = [_unpickle(f) for f in files if f.exists()]
    if not parts:
        raise DataNotFoundError(f"no data_batch_* or test_batch files in {folder}")
    images = np.concatenate([p["data"] for p in parts]).reshape(-1, 3, 32, 32)
    labels = np.concatenate([p["labels"] for p in parts]).astype(np.int64)
    return ImageSet(images, labels, str(folder))


def _cifar100(folder: Path) -> ImageSet:
    parts = [_unpickle(folder / name) for name in ("train", "test") if (folder / name).exists()]
    if not parts:
        raise DataNotFoundError(f"no train or test file in {folder}")
    images = np.concatenate([p["data"] for p in parts]).reshape(-1, 3, 32, 32)
    labels = np.concatenate([p["fine_labels"] for p in parts]).astype(np.int64)
    return ImageSet(images, labels, str(folder))


def _imagenet16_120(folder: Path) -> ImageSet:
    """The downsampled ImageNet 16x16 pickles, keeping NB201's 120 classes (labels 1..120)."""
    files = sorted(folder.glob("train_data_batch_*")) + sorted(folder.glob("val_data"))
    if not files:
        raise DataNotFoundError(f"no train_data_batch_* or val_data files in {folder}")
    images, labels = [], []
    for f in files:
        part = _unpickle(f)
        y = np.asarray(part["labels"], dtype=np.int64)
        keep = y <= 120
        images.append(np.asarray(part["data"])[keep].reshape(-1, 3, 16, 16))
        labels.append(y[keep] - 1)
    return ImageSet(np.concatenate(images), np.concatenate(labels), str(folder))


def _digits() -> ImageSet:
    """scikit-learn's bundled 8x8 digits (1,797 images, 0..16 grey levels) as 3-channel uint8."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    grey = np.round(digits.images * (255 / 16)).astype(np.uint8)
    images = np.repeat(grey[:, None], 3, axis=1)
    return ImageSet(images, digits.target.astype(np.int64), "sklearn.datasets.load_digits")


def _resize_to_16(images: np.ndarray) -> np.ndarray:
    """2x2 average pooling: 32x32 CIFAR images as 16x16 stand-ins for ImageNet16-120."""
    n = images.shape[0]
    pooled = images.reshape(n, 3, 16, 2, 16, 2).astype(np.float32).mean(axis=(3, 5))
    return np.round(pooled).astype(np.uint8)


@lru_cache(maxsize=4)
def _load_cached(dataset: str, root: str | None) -> ImageSet:
    if dataset == "digits":
        return _digits()
    loaders = {"cifar10": _cifar10, "cifar100": _cifar100, "ImageNet16-120": _imagenet16_120}
    if dataset not in loaders:
        raise ValueError(f"unknown dataset {dataset!r}; available: {', '.join(loaders)}")
    try:
        return loaders[dataset](find_data(FOLDERS[dataset], root))
    except DataNotFoundError:
        if dataset == "cifar10":
            raise
    # No images of this dataset: CIFAR-10 images stand in (resized for ImageNet16-120).
    cifar = _cifar10(find_data(FOLDERS["cifar10"], root))
    images = _resize_to_16(cifar.images) if dataset == "ImageNet16-120" else cifar.images
    return ImageSet(images, cifar.labels, f"{cifar.source} (CIFAR-10 stand-in)", stand_in=True)


def load_images(dataset: str, data_dir: str | os.PathLike | None = None) -> ImageSet:
    """All images of ``dataset``; CIFAR-10 images stand in where the dataset is absent.

    ``digits`` needs no data folder: it ships inside scikit-learn.
    """
    return _load_cached(dataset, None if data_dir is None else str(data_dir))
