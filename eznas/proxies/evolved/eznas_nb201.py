"""EZNAS proxy 'eznas_nb201', exported by eznas (standalone: needs only torch).

Individual: mean:reciprocal(neg(cond(C_T2_D))) ; mean:reciprocal(neg(cond(S_T4G_D))) ; std:sum(C_T4_D) ; mean:reciprocal(neg(cond(gram_channel(T1_D)))) ; @params

Components, per RCB block (sympy):
  0: mean over blocks of l2(-1/cond(C_T2_D))
  1: mean over blocks of l2(-1/cond(S_T4G_D))
  2: std over blocks of l2(sum(C_T4_D))
  3: mean over blocks of l2(-1/cond(gram_channel(T1_D)))

The proxy ranks the networks compared by each component and by each network term
(params: library proxies) and sums log(rank / n)
(AZ-NAS's aggregation): eznas does that wherever the file is given as a proxy.

Run runs/dmean8-s2 (selected: 'selection', fitness 0.7752504028077203); config:
{"caches": ["caches160/nb201-cifar10-rcb-b1-s2-k3d633398.h5+caches160/nb201-cifar10-rcb-
b16-s2-sum-k2d96bfd6.h5", "caches160/nb201-cifar100-rcb-b1-s2-
k3d633398.h5+caches160/nb201-cifar100-rcb-b16-s2-sum-k2d96bfd6.h5", "caches160/nb201-
ImageNet16-120-rcb-b1-s2-k3d633398.h5+caches160/nb201-ImageNet16-120-rcb-b16-s2-sum-
k2d96bfd6.h5"], "population": 100, "generations": 30, "seed": 2, "s": 4, "per_pair":
160, "n_task": 160, "to_scalar": "l2", "aggregate": "mean", "over_pairs": "mean",
"cxpb": 0.5, "mutpb": 0.3, "tournsize": 3, "max_height": 10, "init_min": 1, "init_max":
4, "validation": 2, "hall_of_fame": 20, "elite": 10, "parents": "tournament", "cases":
8, "needs_values": true, "components": 3, "net_ops": ["mean", "sum", "min_step",
"last_first", "std", "amax", "stage_mean", "stage_min_step"], "terms": ["params"],
"validation_split": 0.0, "select_networks": 200, "start": [], "kinds": ["T1_D", "T2_D",
"T4_D", "T3", "T1G_D", "T2G_D", "T3G_D", "T4G_D", "C_T1_D", "C_T2_D", "C_T4_D",
"C_T4G_D", "S_T2_D", "S_T4_D", "S_T4G_D", "K_T1_D", "L_T4_D", "C_T5_D"], "jobs": 1,
"scheduler": null}
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from fnmatch import fnmatchcase
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

INPUT_KINDS = ("D", "N", "P")
FLOW_INPUT = "O"
"""Synflow's all-ones input to the linearised copy (not a data batch: ``make_inputs`` has no O)."""
FAMILIES = ("T1", "T2", "T3", "T4", "T5", "T6")
KINDS: tuple[str, ...] = (
    *(f"{t}_{x}" for x in INPUT_KINDS for t in ("T1", "T2", "T4")),
    "T3",
    *(f"{t}G_{x}" for x in INPUT_KINDS for t in ("T1", "T2", "T3", "T4")),
)
"""The 22 raw tensor kinds per block, in storage order."""
STAGE_KINDS: tuple[str, ...] = tuple(f"T5_{x}" for x in INPUT_KINDS)
"""Raw stage kinds (opt-in): the block's stage input for each input."""
FLOW_KINDS: tuple[str, ...] = ("T4_O", "T3G_O", "T4G_O")
"""Raw flow kinds (opt-in): the conv output, and the gradients of the conv weight and output,
on synflow's pass."""
STAGE_MAP_KINDS: tuple[str, ...] = tuple(f"T6_{x}" for x in INPUT_KINDS)
"""Raw stage-map kinds (opt-in): one row per stage map, not per block."""
RAW_KINDS: tuple[str, ...] = KINDS + STAGE_KINDS + FLOW_KINDS + STAGE_MAP_KINDS
SUMMARIES = {
    "C": "channel covariance",
    "S": "sample Gram",
    "K": "activation-code agreement kernel",
    "L": "per-sample L2 norms",
}
SUMMARY_SOURCES = (
    ("C", "T1"),
    ("C", "T2"),
    ("C", "T4"),
    ("C", "T4G"),
    ("S", "T2"),
    ("S", "T4"),
    ("S", "T4G"),
    ("K", "T1"),
    ("L", "T4"),
)
"""(summary, raw family) pairs that are kinds; K reads T1 > 0, which equals T2 > 0."""
SUMMARY_KINDS: tuple[str, ...] = tuple(
    f"{s}_{t}_{x}" for x in INPUT_KINDS for s, t in SUMMARY_SOURCES
)
"""The 27 summary kinds per block, in storage order."""
STAGE_SUMMARY_KINDS: tuple[str, ...] = tuple(f"C_T5_{x}" for x in INPUT_KINDS)
"""Channel covariances of the stage inputs (opt-in, as the raw stage kinds)."""
STAGE_MAP_SUMMARY_KINDS: tuple[str, ...] = tuple(f"C_T6_{x}" for x in INPUT_KINDS)
"""Channel covariances of the stage maps (opt-in, as the raw stage-map kinds)."""
ALL_KINDS: tuple[str, ...] = (
    KINDS
    + SUMMARY_KINDS
    + STAGE_KINDS
    + STAGE_SUMMARY_KINDS
    + FLOW_KINDS
    + STAGE_MAP_KINDS
    + STAGE_MAP_SUMMARY_KINDS
)


def kind_axis(kind: str) -> str:
    """The rows a kind lives on: "stage" for the stage-map kinds (T6), else "block"."""
    return "stage" if parse_kind(kind).family == "T6" else "block"


def kind_dtype(kind: str) -> torch.dtype:
    """float64 for the flow kinds (synflow's magnitudes), float32 for every other kind."""
    return torch.float64 if parse_kind(kind).input == FLOW_INPUT else torch.float32


def match_kinds(
    patterns: Sequence[str], allowed: Sequence[str] = ALL_KINDS, what: str = "tensor kind"
) -> tuple[str, ...] | None:
    """The kinds of ``allowed`` matching shell-style ``patterns`` (``S_*``, ``T2_D``...), in
    storage order; None for no patterns (all of them). A pattern matching none of ``allowed``
    is a ValueError naming them."""
    if not patterns:
        return None
    for pattern in patterns:
        if not any(fnmatchcase(k, pattern) for k in allowed):
            raise ValueError(
                f"kind pattern {pattern!r} matches no {what}; allowed: {', '.join(allowed)}"
            )
    return tuple(k for k in allowed if any(fnmatchcase(k, p) for p in patterns))


class Kind(NamedTuple):
    """A parsed kind name: ``T4G_P`` is family T4, a gradient, of input P; ``C_T4G_P`` is
    the same with summary C (raw kinds have summary None)."""

    family: str
    grad: bool
    input: str | None  # None for T3, the weight, which no input changes
    summary: str | None = None

    @property
    def raw(self) -> str:
        """The raw kind this kind is computed from (itself for a raw kind)."""
        head = self.family + ("G" if self.grad else "")
        return f"{head}_{self.input}" if self.input else head


def parse_kind(name: str) -> Kind:
    """The parts of a kind name; ValueError naming the allowed kinds otherwise."""
    if name not in ALL_KINDS:
        raise ValueError(f"unknown tensor kind {name!r}; allowed: {', '.join(ALL_KINDS)}")
    summary = None
    if name.partition("_")[0] in SUMMARIES:
        summary, _, name = name.partition("_")
    head, _, x = name.partition("_")
    return Kind(head[:2], head.endswith("G"), x or None, summary)


def summary_shape(kind: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of ``kind`` for a block whose raw tensor of that family has ``shape``
    (B, C, ...): C gives (C, C), S and K (B, B), L (B,); raw kinds keep ``shape``."""
    summary = parse_kind(kind).summary
    if summary is None:
        return tuple(shape)
    if summary == "C":
        return (shape[1], shape[1])
    return (shape[0],) if summary == "L" else (shape[0], shape[0])


def inputs_needed(kinds: tuple[str, ...] | list[str]) -> list[str]:
    """The inputs whose forward passes ``kinds`` need, in D, N, P, O order. T3 is read on
    a data pass (O's copy has |weights|): D's if no other data pass is needed."""
    used = {parse_kind(k).input for k in kinds}
    passes = [x for x in INPUT_KINDS if x in used]
    if not passes and (None in used or not used):
        passes = ["D"]
    return passes + ([FLOW_INPUT] if FLOW_INPUT in used else [])


def flow_copy(model: nn.Module) -> nn.Module:
    """Synflow's linearised copy of ``model``: float64, every parameter replaced by its
    absolute value, every BatchNorm an identity. The BatchNorm modules stay and return a
    copy of their input, so a block's chain of calls (each consuming the previous output)
    is found as on the model itself."""
    clone = copy.deepcopy(model).double()
    with torch.no_grad():
        for param in clone.parameters():
            param.abs_()
    for module in clone.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.forward = torch.clone
    return clone.train()


def make_inputs(data: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """D, N = N(0, 1) noise and P = D + N(0, 1) noise, drawn from ``seed`` in that order."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(data.shape, generator=gen)
    perturbation = torch.randn(data.shape, generator=gen)
    return {"D": data, "N": noise, "P": data + perturbation}


# ---------------------------------------------------------------- finding blocks
PATTERNS: dict[str, tuple[type[nn.Module], ...]] = {
    "rcb": (nn.ReLU, nn.Conv2d, nn.BatchNorm2d),
    "cbr": (nn.Conv2d, nn.BatchNorm2d, nn.ReLU),
}
"""Pattern name -> module types of the chain, in data-flow order."""


def check_pattern(pattern: str) -> tuple[type[nn.Module], ...]:
    if pattern not in PATTERNS:
        raise ValueError(f"unknown block pattern {pattern!r}; allowed: {', '.join(PATTERNS)}")
    return PATTERNS[pattern]


class Call(NamedTuple):
    """One module call seen by the tracer."""

    name: str
    module: nn.Module
    input: torch.Tensor
    output: torch.Tensor


class Block(NamedTuple):
    """One matched instance: the ReLU and Conv2d calls (for T1, T2, T3, T4), all names, and
    the stage input (T5) where the pass traced stages."""

    names: tuple[str, ...]
    relu: Call
    conv: Call
    stage: torch.Tensor | None = None

    @property
    def name(self) -> str:
        return "+".join(self.names)

    def tensor(self, family: str) -> torch.Tensor:
        """The live tensor behind a kind family (T1, T2, T3 or T4)."""
        if family == "T1":
            return self.relu.input
        if family == "T2":
            return self.relu.output
        if family == "T3":
            return self.conv.module.weight
        if family == "T5":
            if self.stage is None:
                raise ValueError("stage inputs (T5) need a pass traced with stage_sites")
            return self.stage
        return self.conv.output


class Tracer:
    """Records calls of one pattern's module types during forward passes; ``match`` pairs them."""

    def __init__(self, pattern: str):
        self.chain = check_pattern(pattern)
        self.calls: list[Call] = []

    def reset(self) -> None:
        self.calls = []

    def hook(self, name: str):
        def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            if inputs and isinstance(inputs[0], torch.Tensor):
                self.calls.append(Call(name, module, inputs[0], output))

        return record

    def match(self) -> list[Block]:
        """Blocks of the last forward pass, in execution order.

        A run of convs, each fed by the previous one, stands for the pattern's one conv and
        is represented by its first: a separable conv (ReLU, depthwise, pointwise, BN, as in
        DARTS) is one RCB whose conv is the depthwise one, which is how EZNAS treats
        ReLU-Conv-Conv-BN in the NDS spaces ("ignoring the second convolution").
        """
        producer: dict[int, Call] = {}
        blocks = []
        for call in self.calls:
            if isinstance(call.module, self.chain[-1]):
                chain, matched = [call], 1
                for kind in reversed(self.chain[:-1]):
                    prev = producer.get(id(chain[0].input))
                    if prev is None or not isinstance(prev.module, kind):
                        break
                    chain.insert(0, prev)
                    matched += 1
                    while kind is nn.Conv2d and _is_conv(producer.get(id(prev.input))):
                        prev = producer[id(prev.input)]
                        chain.insert(0, prev)
                if matched == len(self.chain):
                    relu = next(c for c in chain if isinstance(c.module, nn.ReLU))
                    conv = next(c for c in chain if isinstance(c.module, nn.Conv2d))
                    blocks.append(Block(tuple(c.name for c in chain), relu, conv))
            producer[id(call.output)] = call
        return blocks


def _is_conv(call: Call | None) -> bool:
    return call is not None and isinstance(call.module, nn.Conv2d)


@contextmanager
def tracing(model: nn.Module, pattern: str = "rcb") -> Iterator[Tracer]:
    """Hook ``model`` for ``pattern``; in-place ReLUs run out-of-place meanwhile so T1 survives."""
    tracer = Tracer(pattern)
    kinds = tuple(set(tracer.chain))
    handles, inplace = [], []
    for name, module in model.named_modules():
        if type(module) in kinds:
            handles.append(module.register_forward_hook(tracer.hook(name)))
            if isinstance(module, nn.ReLU) and module.inplace:
                module.inplace = False
                inplace.append(module)
    try:
        yield tracer
    finally:
        for handle in handles:
            handle.remove()
        for module in inplace:
            module.inplace = True


# ---------------------------------------------------------------- finding stages
def _tensors(value) -> list[torch.Tensor]:
    """The tensors in a torch call's arguments or result (nested lists, tuples, dicts)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


class FlowRecorder(TorchFunctionMode):
    """Numbers every tensor a torch call creates during a forward pass (the input is 0).

    With ``keep=None`` it records the data-flow graph (each new tensor's producers) and holds
    every tensor, so ids stay unique (a small pass only); with a set of numbers it holds just
    those tensors. A call returning one of its own inputs (in-place) creates nothing.
    """

    def __init__(self, x: torch.Tensor, keep: set[int] | None = None):
        super().__init__()
        self.keep = keep
        self.count = 1
        self.kept: dict[int, torch.Tensor] = {0: x}
        self.node: dict[int, int] = {id(x): 0}
        self.producers: list[list[int]] = [[]]

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = _tensors((args, kwargs))
        for t in _tensors(out):
            if any(t is i for i in inputs):
                continue
            if self.keep is None:
                self.node[id(t)] = self.count
                self.producers.append([self.node[id(i)] for i in inputs if id(i) in self.node])
            if self.keep is None or self.count in self.keep:
                self.kept[self.count] = t
            self.count += 1
        return out

    def cuts(self, output: torch.Tensor) -> list[int]:
        """Feature maps (4-D, after the input) every input-to-output path passes through."""
        n, sink = self.count, self.node[id(output)]
        into, out_of = [0] * n, [0] * n
        into[0], out_of[sink] = 1, 1
        for j in range(n):
            for i in self.producers[j]:
                into[j] += into[i]
        for j in reversed(range(n)):
            for i in self.producers[j]:
                out_of[i] += out_of[j]
        return [
            j
            for j in range(1, n)
            if into[j] and into[j] * out_of[j] == into[sink] and self.kept[j].dim() == 4
        ]


def cut_sites(
    model: nn.Module, x: torch.Tensor, pattern: str = "rcb"
) -> tuple[list[int], list[int]]:
    """The numbers ``FlowRecorder`` gives, on a no-grad pass of ``x[:2]``, to each block's
    stage input (execution order: the last cut at or before the block's input, else that
    input) and to the stage maps (depth order: those stage inputs, but the network's input
    itself, and every cut more than one call reads). The same numbers hold at any batch size
    (one call sequence)."""
    with tracing(model, pattern) as tracer, torch.no_grad():
        x = x[:2]
        with FlowRecorder(x) as flow:
            output = model(x)
        blocks = tracer.match()
    cuts = flow.cuts(output)
    sites = []
    for block in blocks:
        start = min(flow.node[id(block.relu.input)], flow.node[id(block.conv.input)])
        sites.append(max((c for c in cuts if c <= start), default=start))
    readers = [0] * flow.count
    for producers in flow.producers:
        for i in set(producers):
            readers[i] += 1
    maps = sorted((set(sites) | {c for c in cuts if readers[c] > 1}) - {0})  # 0: the input
    return sites, maps


def stage_sites(model: nn.Module, x: torch.Tensor, pattern: str = "rcb") -> list[int]:
    """Per block, the number of its stage input (``cut_sites``)."""
    return cut_sites(model, x, pattern)[0]


def stage_maps(model: nn.Module, x: torch.Tensor, pattern: str = "rcb") -> list[torch.Tensor]:
    """The stage maps of ``model`` on input ``x`` in depth order (two no-grad passes)."""
    maps = cut_sites(model, x, pattern)[1]
    with tracing(model, pattern), torch.no_grad(), FlowRecorder(x, set(maps)) as flow:
        model(x)
    return [flow.kept[m] for m in maps]


def with_stages(blocks: list[Block], sites: list[int], flow: FlowRecorder) -> list[Block]:
    """``blocks`` with their stage inputs from a pass recorded with ``keep=set(sites)``."""
    if len(sites) != len(blocks) or any(s not in flow.kept for s in sites):
        raise RuntimeError("the stage pass and the capture pass made different calls")
    return [b._replace(stage=flow.kept[s]) for b, s in zip(blocks, sites, strict=True)]


# ---------------------------------------------------------------- summaries
def _channel_cov(x: torch.Tensor) -> torch.Tensor:
    """(B, C, ...) -> (C, C): covariance of the channels over samples and positions."""
    rows = x.reshape(x.shape[0], x.shape[1], -1)  # (B, C, positions)
    rows = rows - rows.mean((0, 2), keepdim=True)
    count = rows.shape[0] * rows.shape[2]
    return (rows @ rows.transpose(1, 2)).sum(0) / max(count - 1, 1)  # no transposed copy


def _sample_gram(x: torch.Tensor) -> torch.Tensor:
    """(B, ...) -> (B, B): inner products of the flattened samples over their size."""
    rows = x.reshape(x.shape[0], -1)
    return rows @ rows.T / rows.shape[1]


def _code_kernel(x: torch.Tensor) -> torch.Tensor:
    """(B, ...) -> (B, B): fraction of units where two samples agree on x > 0 (with signs
    s = 2c - 1, agreements = (units + s_i.s_j) / 2; integer sums, exact in float32)."""
    signs = torch.where(x > 0, 1.0, -1.0).reshape(x.shape[0], -1)
    return (signs @ signs.T / signs.shape[1] + 1) / 2


def _norms(x: torch.Tensor) -> torch.Tensor:
    """(B, ...) -> (B,): the L2 norm of each sample."""
    return x.reshape(x.shape[0], -1).norm(dim=1)


SUMMARY_FNS = {"C": _channel_cov, "S": _sample_gram, "K": _code_kernel, "L": _norms}


def summarise(tensors: list[torch.Tensor], summary: str) -> list[torch.Tensor]:
    """``summary`` (a key of ``SUMMARIES``) of each tensor; a tensor several blocks share (an
    NB201 node feeding three edges) is done once. One call per tensor: each is already a
    batch, and stacking same-shaped ones first only adds a copy (measured 1.2-1.9x slower,
    bit-equal results)."""
    fn = SUMMARY_FNS[summary]
    done: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        for t in tensors:
            if id(t) not in done:
                done[id(t)] = fn(t.detach())
    return [done[id(t)] for t in tensors]


# ---------------------------------------------------------------- capturing statistics
def capture(
    model: nn.Module,
    inputs: dict[str, torch.Tensor],
    labels: torch.Tensor | None,
    pattern: str = "rcb",
    kinds: tuple[str, ...] | list[str] = KINDS,
) -> tuple[list[str], list[dict[str, torch.Tensor]]]:
    """(block names, one {kind: detached tensor} per block in execution order, then, if
    stage-map kinds (T6) are asked for, one {T6 kind: tensor} per stage map in depth order).

    Runs the model in train mode, one forward pass per needed input of ``inputs`` (D, N, P;
    for flow kinds O, all ones shaped as D, through ``flow_copy``) and one ``autograd.grad``
    call per input if a gradient kind is asked for. Gradients are the full dL/dT (L the
    cross-entropy against ``labels``, or R = sum(logits) for O), so a tensor with several
    consumers (an NB201 cell node feeding three edges) sums all of them; parameters'
    ``.grad`` are never touched, so the model is left as it was (apart from BN running
    statistics). Summary kinds are computed from the raw tensors of one input while they
    are alive; raw tensors not asked for are not kept.
    """
    parsed = {k: parse_kind(k) for k in kinds}
    wanted = [k for k in ALL_KINDS if k in parsed]
    was_training = model.training
    model.train()
    out: list[dict[str, torch.Tensor]] = []
    names: list[str] | None = None
    try:
        staged = {parsed[k].input for k in wanted if parsed[k].family in ("T5", "T6")}
        sites, maps = cut_sites(model, inputs[min(staged)], pattern) if staged else ([], [])
        mapped = {parsed[k].input for k in wanted if parsed[k].family == "T6"}
        rows: list[dict[str, torch.Tensor]] = [{} for _ in maps] if mapped else []
        for x_kind in inputs_needed(wanted):
            mine = [k for k in wanted if parsed[k].input == x_kind]
            per_block = [k for k in mine if parsed[k].family != "T6"]
            raw = [k for k in RAW_KINDS if k in {parsed[m].raw for m in per_block}]
            grads = [k for k in raw if parse_kind(k).grad]
            flow = x_kind == FLOW_INPUT
            net = flow_copy(model) if flow else model
            x = torch.ones_like(inputs["D"], dtype=torch.float64) if flow else inputs[x_kind]
            if grads:
                x = x.detach().clone().requires_grad_(True)
            recorder = FlowRecorder(x, {*sites, *maps}) if x_kind in staged else nullcontext()
            with tracing(net, pattern) as tracer, torch.set_grad_enabled(bool(grads)), recorder:
                logits = net(x)
            blocks = tracer.match()
            if x_kind in staged:
                blocks = with_stages(blocks, sites, recorder)
            if x_kind in mapped:
                _stage_rows(rows, [recorder.kept[m] for m in maps], mine, parsed)
            if names is None:  # a data pass: O comes last and T3 implies one before it
                names = [b.name for b in blocks]
                out = [{} for _ in blocks]
                if "T3" in wanted:
                    for stats, block in zip(out, blocks, strict=True):
                        stats["T3"] = block.conv.module.weight.detach().clone()
            elif names != [b.name for b in blocks]:
                raise RuntimeError(f"blocks differ between the inputs D and {x_kind}")
            live: list[dict[str, torch.Tensor]] = [{} for _ in blocks]
            for kind in raw:
                if not parse_kind(kind).grad:
                    for tensors, block in zip(live, blocks, strict=True):
                        tensors[kind] = block.tensor(parse_kind(kind).family)
            if grads:
                loss = logits.sum() if flow else F.cross_entropy(logits, labels)
                _backward(loss, blocks, grads, live)
            for kind in per_block:
                sources = [tensors[parsed[kind].raw] for tensors in live]
                summary = parsed[kind].summary
                values = summarise(sources, summary) if summary else sources
                for stats, value in zip(out, values, strict=True):
                    stats[kind] = value.detach()
            del live, blocks, logits  # this input's raw tensors go before the next pass
    finally:
        model.train(was_training)
    return names or [], out + rows


def _stage_rows(
    rows: list[dict[str, torch.Tensor]],
    maps: list[torch.Tensor],
    kinds: list[str],
    parsed: dict[str, Kind],
) -> None:
    """Fill the stage-map rows with the T6 kinds among ``kinds`` (one input's) from ``maps``."""
    for kind in kinds:
        if parsed[kind].family == "T6":
            summary = parsed[kind].summary
            values = summarise(maps, summary) if summary else maps
            for row, value in zip(rows, values, strict=True):
                row[kind] = value.detach()


def plan_captures(
    kinds: list[str] | tuple[str, ...], captures: list | tuple
) -> list[tuple[int, list[str]]]:
    """Which capture provides each of ``kinds``: ``captures`` lists (batch size, the kinds it
    provides or None for all) in order, as a run's caches do (raw B = 1 beside summaries at
    B = 16); each kind comes from the first capture providing it, captures left with nothing
    to do are dropped. ValueError names kinds no capture provides."""
    left, plan = list(kinds), []
    for size, provided in captures:
        mine = [k for k in left if provided is None or k in provided]
        left = [k for k in left if k not in mine]
        if mine:
            plan.append((int(size), mine))
    if left:
        raise ValueError(f"no capture provides the kinds {', '.join(left)}")
    return plan


def capture_planned(
    model: nn.Module,
    plan: list | tuple,
    inputs: torch.Tensor | None,
    labels: torch.Tensor | None,
    seed: int = 0,
    pattern: str = "rcb",
    batch=None,
) -> list[dict[str, torch.Tensor]]:
    """One {kind: tensor} per block (then per stage map, as ``capture``) over the (batch
    size, kinds) captures of ``plan``, each on its own batch: ``inputs``/``labels`` where
    their size matches, else ``batch(size)`` (a function returning (inputs, labels, ...),
    e.g. the scorer's seeded data batches).
    The model is left as it was, so every capture sees the same weights. ValueError if the
    model has no block of ``pattern``."""
    merged: list[dict[str, torch.Tensor]] | None = None
    for size, kinds in plan:
        if inputs is not None and len(inputs) == size:
            x, y = inputs, labels
        elif batch is not None:
            x, y = batch(size)[:2]
        else:
            got = 0 if inputs is None else len(inputs)
            raise ValueError(
                f"this proxy captures statistics at batch size {size} but got {got} inputs: "
                "pass batch=<function of the size returning (inputs, labels)>"
            )
        names, rows = capture(model, make_inputs(x, seed), y, pattern, kinds)
        if not names:
            raise ValueError(f"the model has no {pattern} blocks to score")
        merged = merge_rows(merged, rows) if merged else rows
    return merged or []


def merge_rows(
    first: list[dict[str, torch.Tensor]], second: list[dict[str, torch.Tensor]]
) -> list[dict[str, torch.Tensor]]:
    """Two captures' rows of one network as one: block rows come first in one order in both,
    stage-map rows after them in either, so rows merge by position and the longer list's
    extra rows (the stage maps of the capture that has them) are kept."""
    both = [a | b for a, b in zip(first, second, strict=False)]
    return both + first[len(both) :] + second[len(both) :]


def _backward(
    loss: torch.Tensor, blocks: list[Block], grads: list[str], out: list[dict[str, torch.Tensor]]
) -> None:
    """Fill ``out`` with the requested gradient kinds of one loss (one autograd call)."""
    targets: list[torch.Tensor] = []
    slot: dict[int, int] = {}  # id(tensor) -> position in targets (shared T1s asked once)
    wanted = []
    for i, block in enumerate(blocks):
        for kind in grads:
            tensor = block.tensor(parse_kind(kind).family)
            if id(tensor) not in slot:
                slot[id(tensor)] = len(targets)
                targets.append(tensor)
            wanted.append((i, kind, slot[id(tensor)]))
    values = torch.autograd.grad(loss, targets, allow_unused=True, materialize_grads=True)
    for i, kind, j in wanted:
        out[i][kind] = values[j]


def find_blocks(
    model: nn.Module, x: torch.Tensor, pattern: str = "rcb", stages: bool = False
) -> list[Block]:
    """The blocks of ``model`` on input ``x`` (one no-grad forward pass in the current mode),
    with their stage inputs if ``stages``."""
    sites = stage_sites(model, x, pattern) if stages else []
    flow = FlowRecorder(x, set(sites)) if stages else nullcontext()
    with tracing(model, pattern) as tracer, torch.no_grad(), flow:
        model(x)
        blocks = tracer.match()
    return with_stages(blocks, sites, flow) if stages else blocks


# ---------------------------------------------------------------- the evolved proxy
PROXY_INFO = {'name': 'eznas_nb201',
 'batch_size': 16,
 'pattern': 'rcb',
 'combine': 'logrank',
 'components': [{'name': 'eznas_nb201#0',
                 'batch_size': 16,
                 'needs_data': True,
                 'needs_labels': False,
                 'needs_grad': False,
                 'kinds': ['C_T2_D'],
                 'captures': [[16, ['C_T2_D']]],
                 'pattern': 'rcb',
                 'aggregate': 'mean'},
                {'name': 'eznas_nb201#1',
                 'batch_size': 16,
                 'needs_data': True,
                 'needs_labels': True,
                 'needs_grad': True,
                 'kinds': ['S_T4G_D'],
                 'captures': [[16, ['S_T4G_D']]],
                 'pattern': 'rcb',
                 'aggregate': 'mean'},
                {'name': 'eznas_nb201#2',
                 'batch_size': 16,
                 'needs_data': True,
                 'needs_labels': False,
                 'needs_grad': False,
                 'kinds': ['C_T4_D'],
                 'captures': [[16, ['C_T4_D']]],
                 'pattern': 'rcb',
                 'aggregate': 'std'},
                {'name': 'eznas_nb201#3',
                 'batch_size': 1,
                 'needs_data': True,
                 'needs_labels': False,
                 'needs_grad': False,
                 'kinds': ['T1_D'],
                 'captures': [[1, ['T1_D']]],
                 'pattern': 'rcb',
                 'aggregate': 'mean'}],
 'terms': ['params']}

EPS = 1e-12


def flat(x: torch.Tensor) -> torch.Tensor:
    """(S, *item) -> (S, numel(item)); scalars become (S, 1)."""
    return x.reshape(x.shape[0], -1)


def lift(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Give a stacked scalar (S,) trailing axes so it broadcasts against ``like``."""
    return x.reshape(x.shape + (1,) * (like.dim() - x.dim()))


def safe_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a / b, and 0 where |b| <= EPS (protected division)."""
    ok = b.abs() > EPS
    return torch.where(ok, a / torch.where(ok, b, torch.ones_like(b)), torch.zeros_like(a))


def spectrum(x: torch.Tensor) -> torch.Tensor:
    """Eigenvalues (ascending, float64) of the symmetric part of stacked square matrices."""
    m = x.double()
    return torch.linalg.eigvalsh((m + m.transpose(1, 2)) / 2)


def spectral_entropy(x: torch.Tensor) -> torch.Tensor:
    """Entropy of each matrix's normalised eigenvalue magnitudes (float64); scale-free, so
    gradient covariances (entries near 1e-13) are read like activation ones; 0 for a zero
    matrix."""
    p = spectrum(x).abs()
    total = p.sum(1, keepdim=True)
    p = p / torch.where(total > 0, total, torch.ones_like(total))
    return -(p * (p + EPS).log()).sum(1)


def present(values: torch.Tensor) -> torch.Tensor:
    """Where a network has a block (the padding is NaN)."""
    return ~torch.isnan(values)


def fill(values: torch.Tensor, value: float) -> torch.Tensor:
    return torch.where(present(values), values, torch.full_like(values, value))


def count(values: torch.Tensor) -> torch.Tensor:
    return present(values).sum(-1)


def first_and_last(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each network's first and last block value."""
    last = (count(values) - 1).clamp(min=0).unsqueeze(-1)
    return values[..., 0], values.gather(-1, last).squeeze(-1)


def drop_repeats(values: torch.Tensor) -> torch.Tensor:
    """Each network's values with consecutive equal ones counted once, NaN-padded again:
    the blocks of one stage read one shared stage input (T5), so a program of stage kinds
    gives one value per stage."""
    before = torch.cat([torch.full_like(values[..., :1], torch.nan), values[..., :-1]], -1)
    keep = present(values) & (values != before)
    order = torch.sort((~keep).to(torch.int8), dim=-1, stable=True).indices
    return torch.where(keep, values, torch.nan).gather(-1, order)


def mean_of(values: torch.Tensor) -> torch.Tensor:
    return fill(values, 0.0).sum(-1) / count(values)


def min_step_of(values: torch.Tensor) -> torch.Tensor:
    """Smallest increase from one value to the next; NaN with one value."""
    steps = values[..., 1:] - values[..., :-1]
    return fill(steps, torch.inf).amin(-1).where(count(values) > 1, torch.nan)


def net_mean(values: torch.Tensor) -> torch.Tensor:
    return mean_of(values)


def net_std(values: torch.Tensor) -> torch.Tensor:
    mean = (fill(values, 0.0).sum(-1) / count(values)).unsqueeze(-1)
    return (fill(values - mean, 0.0) ** 2).sum(-1).div(count(values)).sqrt()


def op_cond(x: torch.Tensor) -> torch.Tensor:
    """Condition number max |l| / min |l|, scale-free; protected: 0 when min |l| / max |l|
    is below EPS (a singular or zero matrix)."""
    magnitude = spectrum(x).abs()
    top = magnitude.max(1).values
    ratio = magnitude.min(1).values / torch.where(top > 0, top, torch.ones_like(top))
    return safe_div(torch.ones_like(ratio), ratio).to(x.dtype)


def op_gram_channel(x: torch.Tensor) -> torch.Tensor:
    rows = x.transpose(1, 2).reshape(x.shape[0], x.shape[2], -1)
    return rows @ rows.transpose(1, 2)


def op_l2(x: torch.Tensor) -> torch.Tensor:
    return flat(x).norm(dim=1)


def op_neg(x: torch.Tensor) -> torch.Tensor:
    return -x


def op_reciprocal(x: torch.Tensor) -> torch.Tensor:
    return safe_div(torch.ones_like(x), x)


def op_sum(x: torch.Tensor) -> torch.Tensor:
    return flat(x).sum(1)


def program_0(t: dict) -> torch.Tensor:
    return op_reciprocal(op_neg(op_cond(t["C_T2_D"])))


def program_1(t: dict) -> torch.Tensor:
    return op_reciprocal(op_neg(op_cond(t["S_T4G_D"])))


def program_2(t: dict) -> torch.Tensor:
    return op_sum(t["C_T4_D"])


def program_3(t: dict) -> torch.Tensor:
    return op_reciprocal(op_neg(op_cond(op_gram_channel(t["T1_D"]))))


PROGRAMS = [program_0, program_1, program_2, program_3]
NETWORK_OPS = [net_mean, net_mean, net_std, net_mean]
SHARED_PLAN = [
    [size, sorted({k for c in PROXY_INFO["components"] for s, kinds in c["captures"]
                   if s == size for k in kinds})]
    for size in dict.fromkeys(s for c in PROXY_INFO["components"] for s, _ in c["captures"])
]  # fmt: skip
"""Every component's kinds, one capture per batch size."""
_LAST_CAPTURE: list = []  # [model, key, statistics] of the last network scored


def shared_capture(model: nn.Module, seed: int, pattern: str, batch, arch: str) -> list:
    """The statistics of every component, captured once per model: eznas scores a file's
    components one after another on one model (a capture leaves it as it was), so one
    capture (on ``batch(size)``, as each component's own would take) serves them all."""
    fingerprint = tuple(float(batch(size)[0].double().sum()) for size, _ in SHARED_PLAN)
    key = (arch, seed, pattern, fingerprint)
    if not _LAST_CAPTURE or _LAST_CAPTURE[0] is not model or _LAST_CAPTURE[1] != key:
        stats = capture_planned(model, SHARED_PLAN, None, None, seed, pattern, batch)
        _LAST_CAPTURE[:] = [model, key, stats]
    return _LAST_CAPTURE[2]


def score_component(
    index: int,
    model: nn.Module,
    inputs: torch.Tensor,
    labels=None,
    *,
    seed: int = 0,
    batch=None,
    pattern: str | None = None,
    arch: str | None = None,
    **context,
) -> float:
    """Component ``index`` of an untrained model on one batch (D = inputs; N and P made from
    ``seed``; other batch sizes from ``batch(size)``; blocks as in ``score_model``): its
    program on every block, then its network op over the blocks in depth order. Given the
    scored ``arch`` and ``batch``, the components share one capture (``shared_capture``)."""
    entry = PROXY_INFO["components"][index]
    kinds = entry["kinds"]
    pattern = pattern or PROXY_INFO["pattern"]
    if arch is not None and batch is not None:
        blocks = shared_capture(model, seed, pattern, batch, arch)
    else:
        blocks = capture_planned(model, entry["captures"], inputs, labels, seed, pattern, batch)
    values = []
    for stats in (s for s in blocks if all(k in s for k in kinds)):  # blocks or stage maps
        t = {k: torch.as_tensor(stats[k], dtype=kind_dtype(k))[None] for k in kinds}
        with torch.no_grad():
            values.append(float(op_l2(PROGRAMS[index](t).double())[0]))
    depth = torch.tensor(values, dtype=torch.float64).reshape(1, 1, -1)
    return float(NETWORK_OPS[index](depth)[0, 0])
