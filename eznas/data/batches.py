"""The three EZNAS inputs: D (a labelled data batch), N (N(0,1) noise), P (D + N(0,1) noise)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from eznas.data.datasets import dataset_info
from eznas.data.images import load_images
from eznas.errors import UnknownKeyError
from eznas.runtime import INPUT_KINDS, make_inputs


@dataclass(frozen=True)
class Batches:
    D: torch.Tensor
    N: torch.Tensor
    P: torch.Tensor
    labels: torch.Tensor
    source: str

    def __getitem__(self, kind: str) -> torch.Tensor:
        if kind not in INPUT_KINDS:
            raise UnknownKeyError(f"input kind {kind!r}; allowed: {', '.join(INPUT_KINDS)}")
        return getattr(self, kind)


def data_batch(
    dataset: str, batch_size: int, seed: int, data_dir: str | os.PathLike | None = None
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """A normalised float32 image batch and its labels, drawn without replacement by ``seed``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    images = load_images(dataset, data_dir)
    n = len(images.labels)
    if batch_size > n:
        raise ValueError(f"batch_size {batch_size} exceeds the {n} images in {images.source}")
    pick = np.random.default_rng(seed).choice(n, size=batch_size, replace=False)
    info = dataset_info(dataset)
    mean = torch.tensor(info.mean).view(1, 3, 1, 1)
    std = torch.tensor(info.std).view(1, 3, 1, 1)
    x = torch.from_numpy(images.images[pick].astype(np.float32) / 255.0)
    x = (x - mean) / std
    return x, torch.from_numpy(images.labels[pick]), images.source


def make_batches(
    dataset: str, batch_size: int = 1, seed: int = 0, data_dir: str | os.PathLike | None = None
) -> Batches:
    """D, N and P for ``dataset``: the same seed always gives the same tensors."""
    x, labels, source = data_batch(dataset, batch_size, seed, data_dir)
    return Batches(**make_inputs(x, seed), labels=labels, source=source)
