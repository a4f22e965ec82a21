"""The NAS-Bench-201 network: stem, three stages of N cells, residual reductions, classifier.

Module structure follows NB201's TinyNetwork so parameter counts match the benchmark
exactly and every conv edge is a ReLU -> Conv2d -> BatchNorm2d sequence (an RCB).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
"""(source node, target node) of the six cell edges, in arch-string order."""


def relu_conv_bn(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
    )


class Zero(nn.Module):
    """The ``none`` op: outputs zeros shaped like the input (keeps the graph connected)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class AvgPool3x3(nn.AvgPool2d):
    """NB201's ``avg_pool_3x3`` (stride 1, padding not counted), as a depthwise conv.

    PyTorch's CPU ``avg_pool2d`` without padding counts is several times slower than a conv
    here, and the cell pools dominated forward time. A 3x3 box sum by a ones kernel
    divided by the number of in-image taps gives the same outputs; it stays an
    ``nn.AvgPool2d`` so FLOP counting and module inspection see the op it is.
    """

    def __init__(self):
        super().__init__(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels, height, width = x.shape[1:]
        box = x.new_ones(1, 1, 3, 3)
        taps = F.conv2d(x.new_ones(1, 1, height, width), box, padding=1)
        return F.conv2d(x, box.expand(channels, 1, 3, 3), padding=1, groups=channels) / taps


def make_op(op: str, channels: int) -> nn.Module:
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return relu_conv_bn(channels, channels, 1, 1)
    if op == "nor_conv_3x3":
        return relu_conv_bn(channels, channels, 3, 1)
    if op == "avg_pool_3x3":
        return AvgPool3x3()
    raise ValueError(f"unknown NB201 op {op!r}")


class Cell(nn.Module):
    """A DAG of four nodes; node j sums its incoming edges' ops applied to earlier nodes."""

    def __init__(self, ops: tuple[str, ...], channels: int):
        super().__init__()
        self.edges = nn.ModuleList(make_op(op, channels) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            nodes.append(
                sum(
                    edge(nodes[src])
                    for edge, (src, dst) in zip(self.edges, EDGES, strict=True)
                    if dst == target
                )
            )
        return nodes[3]


class ResidualReduction(nn.Module):
    """NB201's ResNet basic block with stride 2 between stages."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = relu_conv_bn(c_in, c_out, 3, 2)
        self.conv_b = relu_conv_bn(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


class NB201Network(nn.Module):
    """Stem, ``cells`` cells per stage at C, 2C, 4C channels, BN-ReLU, global pool, linear."""

    def __init__(self, ops: tuple[str, ...], num_classes: int, channels: int = 16, cells: int = 5):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(channels)
        )
        layers: list[nn.Module] = []
        c = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(c, 2 * c))
                c *= 2
            layers.extend(Cell(ops, c) for _ in range(cells))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.global_pooling(self.lastact(self.cells(self.stem(x))))
        return self.classifier(out.flatten(1))
