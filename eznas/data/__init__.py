"""Input data: image pickles of CIFAR-10/100 and ImageNet16-120, and the D/N/P batches."""

from eznas.data.batches import INPUT_KINDS, Batches, data_batch, make_batches
from eznas.data.datasets import DATASETS, DatasetInfo, dataset_info
from eznas.data.images import ImageSet, load_images

__all__ = [
    "DATASETS",
    "INPUT_KINDS",
    "Batches",
    "DatasetInfo",
    "ImageSet",
    "data_batch",
    "dataset_info",
    "load_images",
    "make_batches",
]
