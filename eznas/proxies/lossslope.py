"""LossSlope (ET-NAS, after GenNAS): how fast a network starts to regress synthetic signals.

The task is the one the ET-NAS code runs: GenNAS's regression task with its NB101
configuration. The classifier is dropped; the last feature map of each of the three stages
is resized (nearest) to 8x8 and a BatchNorm + 1x1-conv head regresses a synthetic target
there: stage 1 low-frequency 2-D sinusoids (64 maps); stages 2 and 3 (48 and 16 maps) sums
of 1-D and 2-D sinusoids, Gaussian-blurred sparse dots and the resized input. Conv and
linear weights are redrawn Xavier-normal; inputs are upsampled to 32x32 when smaller (as
ET-NAS does for ImageNet16-120) and get fresh uniform noise at every use. Ten SGD steps on
one batch of 16 with the stage-weighted (1/4, 1/2, 1) MSE; the score is minus the slope of
a line fitted to the training losses of steps 2..10 (the range the ET-NAS code fits), so a
faster drop scores higher. The paper fits the training loss curve; its code records an
eval-mode loss after each step instead, whose running-statistics BatchNorm swamps the curve
with a transient (Kendall tau -0.03 on 100 CIFAR-10 networks, against 0.47 for the training loss).
Everything random is drawn from ``seed``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter
from torch import nn

from eznas.proxies.base import register_proxy
from eznas.proxies.trunk import stage_features

ITERATIONS = 10
SKIPPED_LOSSES = 1  # the first loss, before training has moved anything, is left out of the fit
LEARNING_RATE = 0.1
MOMENTUM = 0.9
WEIGHT_DECAY = 4e-5
TARGET_SIZE = 8
INPUT_SIZE = 32
INPUT_NOISE = 0.1
STAGE_WEIGHTS = (0.25, 0.5, 1.0)
DIVERGED_LOSS = 1e3  # a non-finite loss counts as this, so diverging networks rank last
FREQUENCIES = 10  # frequencies drawn per sinusoid family, as in GenNAS


@dataclass(frozen=True)
class Signal:
    """One synthetic family in a stage's target: its weight and how it is drawn."""

    kind: str  # "sin1d", "sin2d", "dots" or "resize"
    level: float
    frequencies: tuple[float, float] = (0.0, 0.0)  # cycles per pixel, low and high
    fraction: float = 0.0  # share of positions holding a dot
    per_sample: bool = True  # drawn for each sample, or once for the batch


# GenNAS's NB101 task (which ET-NAS uses on NB201): channels and signals per stage.
STAGES: tuple[tuple[int, tuple[Signal, ...]], ...] = (
    (64, (Signal("sin2d", 1.1, (0.0143, 0.0229)),)),
    (
        48,
        (
            Signal("sin1d", 1.8, (0.288, 0.306)),
            Signal("sin2d", 2.9, (0.265, 0.421)),
            Signal("dots", 1.1, fraction=0.578125),
            Signal("resize", 2.4),
        ),
    ),
    (
        16,
        (
            Signal("sin1d", 1.5, (0.103, 0.158), per_sample=False),
            Signal("sin2d", 0.9, (0.086, 0.245), per_sample=False),
            Signal("dots", 2.1, fraction=0.4375, per_sample=False),
            Signal("resize", 2.2),
        ),
    ),
)


def _uniform(
    shape: tuple[int, ...], generator: torch.Generator, low: float = 0.0, high: float = 1.0
) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=generator)


def _sinusoids(signal: Signal, n: int, channels: int, g: torch.Generator) -> torch.Tensor:
    """(n, channels, 8, 8) sinusoids: each map takes one of FREQUENCIES drawn frequencies
    (1-D: along x or y; 2-D: one per axis, y mirrored at random) and a random phase."""
    freqs = _uniform((FREQUENCIES,), g, *signal.frequencies)
    pos = torch.arange(1, TARGET_SIZE + 1, dtype=torch.float32)
    shape = (n, channels, 1, 1)
    phase = _uniform(shape, g, high=2 * math.pi)
    fy = freqs[torch.randint(FREQUENCIES, shape, generator=g)]
    fx = freqs[torch.randint(FREQUENCIES, shape, generator=g)]
    if signal.kind == "sin1d":
        along_x = torch.rand(shape, generator=g) < 0.5
        fy, fx = torch.where(along_x, 0.0, fy), torch.where(along_x, fx, 0.0)
    else:
        fy = torch.where(torch.rand(shape, generator=g) < 0.5, -fy, fy)
    angle = 2 * math.pi * (fy * pos.view(-1, 1) + fx * pos.view(1, -1)) + phase
    return torch.sin(angle)


def _dots(signal: Signal, n: int, channels: int, g: torch.Generator) -> torch.Tensor:
    """(n, channels, 8, 8) maps of +-1 dots at distinct random positions, blurred (sigma 1)
    and scaled to a peak magnitude of 1."""
    cells = TARGET_SIZE * TARGET_SIZE
    count = int(signal.fraction * cells)
    rank = torch.rand((n, channels, cells), generator=g).argsort(-1).argsort(-1)
    signs = torch.where(torch.rand((n, channels, cells), generator=g) < 0.5, -1.0, 1.0)
    dots = ((rank < count) * signs).view(n, channels, TARGET_SIZE, TARGET_SIZE).numpy()
    blurred = gaussian_filter(dots, sigma=(0, 0, 1, 1))
    peak = np.abs(blurred).max(axis=(2, 3), keepdims=True)
    return torch.from_numpy(blurred / np.where(peak > 0, peak, 1.0)).float()


def _resized(inputs: torch.Tensor, channels: int, g: torch.Generator) -> torch.Tensor:
    """The input resized to 8x8, scaled to [-1, 1] over the batch, a random colour per map."""
    small = F.interpolate(inputs, size=(TARGET_SIZE, TARGET_SIZE))
    small = (small - small.min()) / (small.max() - small.min()).clamp_min(1e-12) * 2 - 1
    return small[:, torch.randint(small.shape[1], (channels,), generator=g)]


def synthetic_targets(inputs: torch.Tensor, generator: torch.Generator) -> list[torch.Tensor]:
    """The (B, C_stage, 8, 8) target of each stage: the level-weighted sum of its signals."""
    batch = inputs.shape[0]
    targets = []
    for channels, signals in STAGES:
        target = torch.zeros(batch, channels, TARGET_SIZE, TARGET_SIZE)
        for signal in signals:
            n = batch if signal.per_sample else 1
            if signal.kind in ("sin1d", "sin2d"):
                part = _sinusoids(signal, n, channels, generator)
            elif signal.kind == "dots":
                part = _dots(signal, n, channels, generator)
            else:
                part = _resized(inputs, channels, generator)
            target = target + signal.level * part
        targets.append(target)
    return targets


class RegressionHeads(nn.Module):
    """The trunk's stage maps resized to 8x8, each through BatchNorm and a 1x1 conv."""

    def __init__(self, trunk: nn.Module, stage_channels: list[int]):
        super().__init__()
        self.trunk = trunk
        self.heads = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(c_in), nn.Conv2d(c_in, c_out, 1))
            for c_in, (c_out, _) in zip(stage_channels, STAGES, strict=True)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = stage_features(self.trunk, x)
        size = (TARGET_SIZE, TARGET_SIZE)
        return [head(F.interpolate(m, size=size)) for head, m in zip(self.heads, maps, strict=True)]


def _reinitialise(net: nn.Module, generator: torch.Generator) -> None:
    """Xavier-normal conv/linear weights and PyTorch's default uniform biases."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.xavier_normal_(module.weight, generator=generator)
                if module.bias is not None:
                    bound = 1.0 / math.sqrt(module.weight[0].numel())
                    module.bias.uniform_(-bound, bound, generator=generator)


def loss_curve(model: nn.Module, inputs: torch.Tensor, seed: int = 0) -> np.ndarray:
    """The training loss at each of the ITERATIONS SGD steps (a copy of ``model`` trains)."""
    generator = torch.Generator().manual_seed(seed)
    if inputs.shape[-1] < INPUT_SIZE:
        inputs = F.interpolate(inputs, size=(INPUT_SIZE, INPUT_SIZE))
    trunk = copy.deepcopy(model).eval()  # eval: the probe must not move BN running stats
    with torch.no_grad():
        channels = [m.shape[1] for m in stage_features(trunk, inputs[:2])]
    net = RegressionHeads(trunk, channels)
    _reinitialise(net, generator)
    targets = synthetic_targets(inputs, generator)
    decayed, others = [], []  # weight decay on conv/linear weights only, as GenNAS does
    for name, param in net.named_parameters():
        (decayed if name.endswith("weight") and param.dim() > 1 else others).append(param)
    optimizer = torch.optim.SGD(
        [{"params": decayed, "weight_decay": WEIGHT_DECAY}, {"params": others}],
        lr=LEARNING_RATE,
        momentum=MOMENTUM,
    )

    net.train()
    losses = []
    for _ in range(ITERATIONS):
        noisy = inputs + _uniform(inputs.shape, generator, -INPUT_NOISE, INPUT_NOISE)
        outputs = net(noisy)
        loss = sum(
            w * F.mse_loss(o, t) for w, o, t in zip(STAGE_WEIGHTS, outputs, targets, strict=True)
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        value = loss.item()
        losses.append(value if math.isfinite(value) else DIVERGED_LOSS)
    return np.asarray(losses)


@register_proxy("lossslope", needs_grad=True, batch_size=16, version=2)
def lossslope(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """LossSlope (ET-NAS): minus the slope of the synthetic-signal loss over 10 SGD steps."""
    losses = loss_curve(model, inputs, seed)[SKIPPED_LOSSES:]
    return float(-np.polyfit(np.arange(len(losses)), losses, 1)[0])
