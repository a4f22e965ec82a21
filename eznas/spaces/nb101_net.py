"""The NAS-Bench-101 network, module for module as NASBench's ``model_builder.py`` builds it.

Stem Conv3x3(128)-BN-ReLU, three stacks of three cells with a 2x2 max-pool (stride 2)
and doubled channels before stacks 2 and 3, global average pool and a linear classifier.
Inside a cell, the output channels are split among the vertices feeding the output (their
outputs are concatenated); other vertices take the most channels of their successors;
the cell input reaches a vertex through its own 1x1 Conv-BN-ReLU projection, interior
edges are summed (dropping the one extra channel a split may give a vertex). Every conv
is Conv-BN-ReLU without bias, so parameter counts equal the benchmark's.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

STEM_CHANNELS = 128
STACKS = 3
CELLS_PER_STACK = 3


def conv_bn_relu(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.003),  # TF: epsilon 1e-5, decay 0.997
        nn.ReLU(inplace=False),
    )


def make_op(op: str, channels: int) -> nn.Module:
    if op == "c3":
        return conv_bn_relu(channels, channels, 3)
    if op == "c1":
        return conv_bn_relu(channels, channels, 1)
    if op == "mp":
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NB101 op {op!r}")


def vertex_channels(c_in: int, c_out: int, matrix: np.ndarray) -> list[int]:
    """Channels of every vertex of a pruned cell.

    The output's channels are split evenly among the vertices feeding it, the first
    ``c_out % fan_in`` of them getting one more; every other interior vertex takes the
    maximum of its interior successors (filled backwards, so successors come first).
    """
    n = len(matrix)
    channels = [c_in] + [0] * (n - 2) + [c_out]
    if n == 2:
        return channels
    feeds_output = [v for v in range(1, n - 1) if matrix[v, n - 1]]
    share, extra = divmod(c_out, len(feeds_output))
    for i, v in enumerate(feeds_output):
        channels[v] = share + (1 if i < extra else 0)
    for v in range(n - 3, 0, -1):
        if not matrix[v, n - 1]:
            channels[v] = max(channels[w] for w in range(v + 1, n - 1) if matrix[v, w])
    return channels


class Cell(nn.Module):
    """One NB101 module for a pruned (matrix, ops) pair."""

    def __init__(self, matrix: np.ndarray, ops: tuple[str, ...], c_in: int, c_out: int):
        super().__init__()
        self.matrix = matrix
        n = len(matrix)
        self.channels = vertex_channels(c_in, c_out, matrix)
        self.ops = nn.ModuleList(
            make_op(op, self.channels[v]) for v, op in enumerate(ops[1:-1], start=1)
        )
        self.projections = nn.ModuleDict(
            {str(v): conv_bn_relu(c_in, self.channels[v], 1) for v in range(1, n) if matrix[0, v]}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(self.matrix)
        tensors = [x]
        for v in range(1, n - 1):
            width = self.channels[v]
            terms = [tensors[u][:, :width] for u in range(1, v) if self.matrix[u, v]]
            if self.matrix[0, v]:
                terms.append(self.projections[str(v)](x))
            tensors.append(self.ops[v - 1](sum(terms[1:], terms[0])))
        concat = [tensors[v] for v in range(1, n - 1) if self.matrix[v, n - 1]]
        if not concat:
            return self.projections[str(n - 1)](x)
        out = torch.cat(concat, dim=1) if len(concat) > 1 else concat[0]
        if self.matrix[0, n - 1]:
            out = out + self.projections[str(n - 1)](x)
        return out


class NB101Network(nn.Module):
    def __init__(self, matrix: np.ndarray, ops: tuple[str, ...], num_classes: int = 10):
        super().__init__()
        self.stem = conv_bn_relu(3, STEM_CHANNELS, 3)
        layers: list[nn.Module] = []
        c_in = c_out = STEM_CHANNELS
        for stack in range(STACKS):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                c_out *= 2
            for _ in range(CELLS_PER_STACK):
                layers.append(Cell(matrix, ops, c_in, c_out))
                c_in = c_out
        self.cells = nn.Sequential(*layers)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_out, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.global_pooling(self.cells(self.stem(x)))
        return self.classifier(out.flatten(1))
