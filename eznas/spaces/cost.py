"""A model's size: parameter count and FLOPs (both in millions), ReLU units, and its depth.

Below both the statistics collector (which records each network's parameters) and the
proxies (``params``/``flops``); every space's builder is checked against its benchmark's
counts with these.

FLOPs convention (matches NAS-Bench-Suite-Zero's ``flops`` to within 0.0011 M on NB201):
multiply-adds of Conv2d (k*k*C_in/groups per output element, plus one per output if
biased) and Linear (in*out), k*k per output of AvgPool2d/MaxPool2d, 2 per element of
BatchNorm2d, 1 per element of ReLU and 1 per input element of adaptive average pooling.
Counting only conv + linear multiply-adds comes out 2-7% lower on NB201.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from eznas.runtime import _tensors  # the tensors of a torch call's arguments


def count_params(model: nn.Module) -> float:
    """Trainable parameters in millions."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6


def _kernel_area(kernel) -> int:
    return kernel * kernel if isinstance(kernel, int) else kernel[0] * kernel[1]


def _module_flops(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    per_sample = output[0].numel() if output.dim() > 1 else output.numel()
    if isinstance(module, nn.Conv2d):
        flops = per_sample * _kernel_area(module.kernel_size) * module.in_channels // module.groups
        return flops + (per_sample if module.bias is not None else 0)
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    if isinstance(module, nn.AvgPool2d | nn.MaxPool2d):
        return per_sample * _kernel_area(module.kernel_size)
    if isinstance(module, nn.BatchNorm2d):
        return 2 * per_sample
    if isinstance(module, nn.ReLU):
        return per_sample
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return inputs[0][0].numel()
    return 0


def _hooked_total(model: nn.Module, input_shape: tuple[int, ...], count) -> int:
    """Sum of ``count(module, inputs, output)`` over the leaf modules of one eval-mode
    forward pass of a single zero sample of ``input_shape``; the model's mode is restored."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        total += count(module, inputs, output)

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
        model.train(was_training)
    finally:
        for handle in handles:
            handle.remove()
    return total


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """FLOPs in millions of one forward pass of a single sample of ``input_shape`` (C, H, W)."""
    return _hooked_total(model, input_shape, _module_flops) / 1e6


def count_relu_units(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Output elements of every ``nn.ReLU`` for one sample: NASWOT's code length N_A."""
    return _hooked_total(
        model, input_shape, lambda m, i, out: out[0].numel() if isinstance(m, nn.ReLU) else 0
    )


WEIGHTED_CALLS = frozenset({"conv1d", "conv2d", "conv3d", "linear"})
"""Torch calls that count as one layer of depth."""


class _DepthMode(TorchFunctionMode):
    """Gives every tensor a forward pass creates the most weighted calls on a path from the
    input to it; an all-zero tensor (NB201's ``none`` op) carries no path."""

    def __init__(self, x: torch.Tensor):
        super().__init__()
        self.depth: dict[int, int] = {id(x): 0}
        self.held: list[torch.Tensor] = [x]  # ids stay unique while the pass runs

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        known = [self.depth[id(t)] for t in _tensors((args, kwargs)) if id(t) in self.depth]
        if known and isinstance(out, torch.Tensor):
            if out.is_floating_point() and not out.any():
                self.depth.pop(id(out), None)
            else:
                weighted = getattr(func, "__name__", "") in WEIGHTED_CALLS
                self.depth[id(out)] = max(known) + weighted
                self.held.append(out)
        return out


def count_depth(model: nn.Module, x: torch.Tensor) -> int:
    """Weighted layers (convs, linears) on the longest input-to-output path of ``model``,
    found by data flow on one eval-mode pass of ``x`` (so it needs no per-space code): a
    ResNet stage counts its residual branch, a cell its deepest chain of convs. 0 when the
    output does not depend on the input."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), _DepthMode(x) as mode:
            out = model(x)
    finally:
        model.train(was_training)
    return mode.depth.get(id(out), 0)
