"""Short, fixed-recipe training that turns an architecture into a test accuracy.

The recipe is deliberately small (CPU, minutes for a thousand networks) and fully seeded:
weights and batch order from ``seed``; the train/test split from ``split_seed`` so every
network and every seed is judged on the same test images.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from eznas.data import dataset_info, load_images
from eznas.spaces import SearchSpace


@dataclass(frozen=True)
class Recipe:
    """SGD (Nesterov) with cosine decay, cross-entropy, no augmentation.

    ``input_noise`` makes an easy dataset harder (8x8 digits saturate near 95% for almost
    every network, so seed noise would decide the ranking)."""

    epochs: int = 1
    batch_size: int = 32
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    test_size: int = 500
    train_size: int | None = None  # None: every image not in the test split
    split_seed: int = 0
    input_noise: float = 0.0  # std of fixed Gaussian noise added to every normalised image

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.test_size < 1:
            raise ValueError(
                f"epochs, batch_size and test_size must be >= 1, got "
                f"{self.epochs}, {self.batch_size}, {self.test_size}"
            )
        if self.input_noise < 0:
            raise ValueError(f"input_noise must be >= 0, got {self.input_noise}")

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "optimizer": "SGD nesterov",
            "schedule": "cosine per step",
            "augmentation": "none",
        }


def split_data(
    dataset: str, recipe: Recipe, data_dir: str | os.PathLike | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalised (train x, train y, test x, test y), split by ``recipe.split_seed``."""
    images = load_images(dataset, data_dir)
    if recipe.test_size >= len(images.labels):
        raise ValueError(
            f"test_size {recipe.test_size} leaves no training images of {len(images.labels)}"
        )
    info = dataset_info(dataset)
    x = torch.from_numpy(images.images.astype(np.float32) / 255.0)
    x = (x - torch.tensor(info.mean).view(1, 3, 1, 1)) / torch.tensor(info.std).view(1, 3, 1, 1)
    if recipe.input_noise:  # a harder task, the same for every network and seed
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(recipe.split_seed))
        x = x + recipe.input_noise * noise
    y = torch.from_numpy(images.labels)
    order = torch.from_numpy(np.random.default_rng(recipe.split_seed).permutation(len(y)))
    test, train = order[: recipe.test_size], order[recipe.test_size :]
    if recipe.train_size is not None:
        train = train[: recipe.train_size]
    return x[train], y[train], x[test], y[test]


def train_and_test(
    space: SearchSpace,
    arch: str,
    dataset: str,
    data: tuple[torch.Tensor, ...],
    recipe: Recipe,
    seed: int,
) -> float:
    """Test accuracy (%) of ``arch`` after training with ``recipe`` from seed ``seed``."""
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(seed)
    model = space.build(arch, dataset)
    steps_per_epoch = -(-len(y_train) // recipe.batch_size)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=recipe.lr,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
        nesterov=True,
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=recipe.epochs * steps_per_epoch
    )
    loss_fn = nn.CrossEntropyLoss()
    order_gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(recipe.epochs):
        order = torch.randperm(len(y_train), generator=order_gen)
        for start in range(0, len(order), recipe.batch_size):
            pick = order[start : start + recipe.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x_train[pick]), y_train[pick]).backward()
            optimizer.step()
            schedule.step()
    model.eval()
    with torch.no_grad():
        correct = sum(
            int((model(x_test[i : i + 256]).argmax(1) == y_test[i : i + 256]).sum())
            for i in range(0, len(y_test), 256)
        )
    return 100.0 * correct / len(y_test)
