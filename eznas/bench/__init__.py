"""Build-your-own benchmarks: short fixed-recipe training that yields an accuracy table."""

from eznas.bench.build import BenchmarkSpec, build_benchmark
from eznas.bench.train import Recipe, split_data, train_and_test

__all__ = ["BenchmarkSpec", "Recipe", "build_benchmark", "split_data", "train_and_test"]
