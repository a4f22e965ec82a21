"""Facts about the image datasets: classes, input size and NB201's normalisation constants."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    num_classes: int
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def _scaled(*values: float) -> tuple[float, float, float]:
    return tuple(v / 255 for v in values)  # type: ignore[return-value]


# Normalisation constants are NAS-Bench-201's, so networks see the inputs they were trained on.
DATASETS: dict[str, DatasetInfo] = {
    "cifar10": DatasetInfo(
        "cifar10", 10, 32, _scaled(125.3, 123.0, 113.9), _scaled(63.0, 62.1, 66.7)
    ),
    "cifar100": DatasetInfo(
        "cifar100", 100, 32, _scaled(129.3, 124.1, 112.4), _scaled(68.2, 65.4, 70.4)
    ),
    "ImageNet16-120": DatasetInfo(
        "ImageNet16-120", 120, 16, _scaled(122.68, 116.66, 104.01), _scaled(63.22, 61.26, 65.09)
    ),
    # scikit-learn's 8x8 handwritten digits, grey replicated to 3 channels: ships offline.
    "digits": DatasetInfo("digits", 10, 8, (0.3053,) * 3, (0.3760,) * 3),
}


def dataset_info(name: str) -> DatasetInfo:
    """Look up a dataset by name, with an error listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}") from None
