"""NAS-Bench-Macro (Su et al., CVPR 2021): a MobileNetV2-style macro space on CIFAR-10.

An arch is the benchmark's own key: 8 digits, one per choice block in network order, ``0``
identity, ``1`` MB3_K3 (inverted residual, expansion 3, 3x3 depthwise), ``2`` MB6_K5
(expansion 6, 5x5 depthwise); all 3^8 = 6,561 keys are archs and all are labelled.
Enumeration is ``itertools.product`` order, i.e. the keys as base-3 numbers, ascending.

Identities at stride-1 positions add nothing, so within a stage only the order of the
non-identity blocks matters: ``key`` moves those identities to the end of their stage
("x01" and "x10" build the same network), leaving 9 * 21 * 21 = 3,969 distinct networks.
A stage's first block (stride 2, channels doubled) is never empty, so it is not moved.
The benchmark file agrees: every such group of keys carries one and the same accuracy.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from eznas.data.datasets import dataset_info
from eznas.spaces.base import SearchSpace, register_space

CHOICES: tuple[str, ...] = ("identity", "MB3_K3", "MB6_K5")
"""Block of each digit; (expansion, kernel) of the inverted residuals in MB_SHAPES."""
MB_SHAPES = {"1": (3, 3), "2": (6, 5)}
STAGES: tuple[tuple[int, int], ...] = ((2, 64), (3, 128), (3, 256))
"""(choice blocks, output channels) per stage; each stage's first block has stride 2."""
LAYERS = sum(n for n, _ in STAGES)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280


def parse_arch(arch: str) -> str:
    """The arch's 8 digits; ValueError quotes the bad part."""
    if not isinstance(arch, str):
        raise ValueError(
            f"NAS-Bench-Macro arch must be a string, got {type(arch).__name__}: {arch!r}"
        )
    digits = arch.strip()
    if len(digits) != LAYERS:
        raise ValueError(
            f"NAS-Bench-Macro arch {arch!r} has {len(digits)} characters; expected {LAYERS} "
            "digits like '02012100'"
        )
    for position, digit in enumerate(digits):
        if digit not in "012":
            raise ValueError(
                f"NAS-Bench-Macro arch {arch!r}: {digit!r} at position {position} is not "
                "0 (identity), 1 (MB3_K3) or 2 (MB6_K5)"
            )
    return digits


def stage_slices() -> list[slice]:
    """Positions of each stage's choice blocks in the arch string."""
    starts = np.cumsum([0] + [n for n, _ in STAGES])
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(starts)]


def canonical(arch: str) -> str:
    """``arch`` with each stage's stride-1 identities moved after its other blocks."""
    parts = []
    for part in (arch[s] for s in stage_slices()):
        rest = part[1:].replace("0", "")
        parts.append(part[0] + rest + "0" * (len(part) - 1 - len(rest)))
    return "".join(parts)


def conv_bn(
    c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1
) -> list[nn.Module]:
    conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False)
    return [conv, nn.BatchNorm2d(c_out)]


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand CBR, kxk depthwise CBR, 1x1 project Conv-BN (+ input)."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int, kernel: int):
        super().__init__()
        hidden = c_in * expansion
        self.residual = stride == 1 and c_in == c_out
        self.layers = nn.Sequential(
            *conv_bn(c_in, hidden, 1),
            nn.ReLU(inplace=True),
            *conv_bn(hidden, hidden, kernel, stride, groups=hidden),
            nn.ReLU(inplace=True),
            *conv_bn(hidden, c_out, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(x)
        return out + x if self.residual else out


def choice_block(digit: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    if digit in MB_SHAPES:
        return InvertedResidual(c_in, c_out, stride, *MB_SHAPES[digit])
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(*conv_bn(c_in, c_out, 1, stride))


class MacroNetwork(nn.Module):
    """Stem CBR (32), the 8 choice blocks in three stages, 1x1 CBR (1280), pool, linear.

    The choice blocks are ``cells`` after the stem, the trunk layout (``stem`` + ``cells``)
    that lossslope reads its stage maps from, as in the NB201 and NB101 networks.
    """

    def __init__(self, arch: str, num_classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(*conv_bn(3, STEM_CHANNELS, 3), nn.ReLU(inplace=True))
        blocks: list[nn.Module] = []
        c_in = STEM_CHANNELS
        digits = iter(arch)
        for n, c_out in STAGES:
            for i in range(n):
                blocks.append(choice_block(next(digits), c_in, c_out, 2 if i == 0 else 1))
                c_in = c_out
        self.cells = nn.Sequential(*blocks)
        self.head = nn.Sequential(*conv_bn(c_in, HEAD_CHANNELS, 1), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pool(self.head(self.cells(self.stem(x))))
        return self.classifier(out.flatten(1))


@register_space("nbmacro")
class NBMacroSpace(SearchSpace):
    """The 6,561 archs of NAS-Bench-Macro (labelled on CIFAR-10; builds for any dataset's
    class count, as the network itself does not depend on the data)."""

    block_pattern = "cbr"

    def validate(self, arch: str) -> str:
        return parse_arch(arch)

    def encode(self, arch: str) -> np.ndarray:
        return np.array([int(d) for d in parse_arch(arch)])

    def __iter__(self) -> Iterator[str]:
        return ("".join(d) for d in itertools.product("012", repeat=LAYERS))

    def __len__(self) -> int:
        return len(CHOICES) ** LAYERS

    def sample(self, rng: np.random.Generator) -> str:
        return "".join(str(d) for d in rng.integers(len(CHOICES), size=LAYERS))

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        digits = list(parse_arch(arch))
        position = int(rng.integers(LAYERS))
        digits[position] = str(rng.choice([d for d in "012" if d != digits[position]]))
        return "".join(digits)

    def crossover(self, a: str, b: str, rng: np.random.Generator) -> str:
        take_a = rng.random(LAYERS) < 0.5
        pairs = zip(parse_arch(a), parse_arch(b), take_a, strict=True)
        return "".join(x if t else y for x, y, t in pairs)

    def key(self, arch: str) -> str:
        return canonical(parse_arch(arch))

    def build(self, arch: str, dataset: str) -> nn.Module:
        return MacroNetwork(parse_arch(arch), dataset_info(dataset).num_classes)
