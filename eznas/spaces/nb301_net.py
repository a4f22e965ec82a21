"""The NAS-Bench-301 network (DARTS cell space) as NAS-Bench-Suite-Zero builds it.

The DARTS CIFAR-10 macro network at NB301's size: a 3x3 conv stem (3 -> 3C) + BN, then 8
cells with C = 32 channels, doubled by the reduction cells at 1/3 and 2/3 of the depth
(cells 2 and 5); each cell preprocesses its two inputs (the outputs of the two previous
cells) with ReLU-1x1 conv-BN, or FactorizedReduce when the older input is still at the
higher resolution, and outputs the concatenation of its four intermediate nodes; global
average pooling and a linear classifier close it. No auxiliary head, no drop path.

Cell ops are NASLib's (``naslib/search_spaces/nasbench301/graph.py``), which computed the
reference ``params``: their BNs have no affine parameters, and pools are followed by a
parameter-free BN. NB301's own training network (DARTS' evaluation network) differs in
exactly these points (affine BNs in the ops, no BN after pools, an auxiliary head); built
that way, parameter counts exceed the reference's, so this module follows NASLib.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

Cell = Sequence[tuple[int, str]]
"""Eight (input node, op) pairs: two per intermediate node 2..5; inputs 0 and 1 are the
outputs of the cell two back and one back, 2..5 the earlier intermediate nodes."""


def relu_conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    """The 1x1 preprocessing of a cell input (affine BN, as in NASLib's macro graph)."""
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c_in, c_out, 1, bias=False),
        nn.BatchNorm2d(c_out),
    )


class FactorizedReduce(nn.Module):
    """Halve the resolution with two 1x1 stride-2 convs on offset grids, concatenated."""

    def __init__(self, c_in: int, c_out: int, affine: bool):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def sep_conv(channels: int, kernel: int, stride: int) -> nn.Sequential:
    """DARTS' separable conv: (ReLU, depthwise kxk, pointwise 1x1, BN) twice."""
    layers: list[nn.Module] = []
    for s in (stride, 1):
        layers += [
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, s, kernel // 2, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels, affine=False),
        ]
    return nn.Sequential(*layers)


def dil_conv(channels: int, kernel: int, stride: int) -> nn.Sequential:
    """DARTS' dilated separable conv: ReLU, depthwise kxk dilation 2, pointwise 1x1, BN."""
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(
            channels, channels, kernel, stride, kernel - 1, dilation=2, groups=channels, bias=False
        ),
        nn.Conv2d(channels, channels, 1, bias=False),
        nn.BatchNorm2d(channels, affine=False),
    )


def make_op(op: str, channels: int, stride: int) -> nn.Module:
    if op == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, False)
    if op == "max_pool_3x3":
        pool: nn.Module = nn.MaxPool2d(3, stride, padding=1)
        return nn.Sequential(pool, nn.BatchNorm2d(channels, affine=False))
    if op == "avg_pool_3x3":
        pool = nn.AvgPool2d(3, stride, padding=1, count_include_pad=False)
        return nn.Sequential(pool, nn.BatchNorm2d(channels, affine=False))
    if op in ("sep_conv_3x3", "sep_conv_5x5"):
        return sep_conv(channels, int(op[-1]), stride)
    if op in ("dil_conv_3x3", "dil_conv_5x5"):
        return dil_conv(channels, int(op[-1]), stride)
    raise ValueError(f"unknown DARTS op {op!r}")


class DartsCell(nn.Module):
    """Preprocess the two inputs, build nodes 2..5 as sums of two ops, concatenate them."""

    def __init__(
        self,
        cell: Cell,
        c_prev_prev: int,
        c_prev: int,
        channels: int,
        reduction: bool,
        reduction_prev: bool,
    ):
        super().__init__()
        self.preprocess0 = (
            FactorizedReduce(c_prev_prev, channels, True)
            if reduction_prev
            else relu_conv_bn(c_prev_prev, channels)
        )
        self.preprocess1 = relu_conv_bn(c_prev, channels)
        self.inputs = [src for src, _ in cell]
        self.ops = nn.ModuleList(
            make_op(op, channels, 2 if reduction and src < 2 else 1) for src, op in cell
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(4):
            pair = (2 * node, 2 * node + 1)
            states.append(sum(self.ops[i](states[self.inputs[i]]) for i in pair))
        return torch.cat(states[2:], dim=1)


class DartsNetwork(nn.Module):
    """Stem, ``layers`` cells (reductions at layers//3 and 2*layers//3), pool, linear."""

    def __init__(
        self,
        normal: Cell,
        reduce: Cell,
        num_classes: int,
        channels: int = 32,
        layers: int = 8,
    ):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 3 * channels, 3, padding=1, bias=False), nn.BatchNorm2d(3 * channels)
        )
        c_prev_prev = c_prev = 3 * channels
        c, reduction_prev = channels, False
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            c = 2 * c if reduction else c
            cell = reduce if reduction else normal
            self.cells.append(DartsCell(cell, c_prev_prev, c_prev, c, reduction, reduction_prev))
            c_prev_prev, c_prev, reduction_prev = c_prev, 4 * c, reduction
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def cell_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The stem's output, then every cell's (each cell reads the two before it): the
        trunk's maps that AZ-NAS and LossSlope read (``eznas.proxies.trunk``)."""
        s0 = s1 = self.stem(x)
        features = [s1]
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
            features.append(s1)
        return features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.cell_features(x)[-1]).flatten(1))
