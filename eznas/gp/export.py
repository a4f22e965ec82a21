"""Export a program as a standalone, torch-only Python module that anyone can run or read.

The module holds the ops the program uses (their source, copied from ``eznas.gp.ops``),
``score_block(stats) -> float`` for one RCB's statistics, and ``score_model(model, inputs,
labels, *, seed=0) -> float`` which finds the model's ReLU-Conv-BN blocks with its own hooks,
captures only the tensor kinds the program uses, and builds N and P from ``seed`` exactly as
``eznas.data.make_batches`` does. ``PROXY_INFO`` says what the proxy needs, so the module
can be loaded by path wherever a proxy name is accepted. Its docstring carries the DEAP
tree and a sympy-simplified formula.
"""

from __future__ import annotations

import inspect
import pprint
from pathlib import Path

import sympy

from eznas.gp.ops import EPS, flat, get_op, lift, safe_div
from eznas.gp.program import TO_SCALAR, Node, Program, compile_tree

GRAD_FAMILIES = ("T1G", "T2G", "T3G", "T4G")


def formula(program: Program | str, simplify: bool = True) -> sympy.Expr:
    """The program as a sympy expression over the kind symbols (real-valued)."""
    program = compile_tree(program) if isinstance(program, str) else program
    x, y = sympy.symbols("x y", real=True)

    def build(node: Node) -> sympy.Expr:
        if node.is_kind:
            return sympy.Symbol(node.name, real=True)
        template = sympy.sympify(get_op(node.name).sympy, locals={"x": x, "y": y})
        args = [build(a) for a in node.args]
        return template.subs(dict(zip((x, y), args, strict=False)), simultaneous=True)

    expr = build(program.root)
    return sympy.simplify(expr) if simplify else expr


def _source(fn) -> str:
    lines = inspect.getsource(fn).splitlines()
    return "\n".join(line for line in lines if not line.startswith("@gp_op")) + "\n"


def _call(node: Node) -> str:
    if node.is_kind:
        return f't["{node.name}"]'
    return f"{get_op(node.name).fn.__name__}({', '.join(_call(a) for a in node.args)})"


def _ops_used(node: Node) -> list[str]:
    names = [] if node.is_kind else [node.name]
    for a in node.args:
        names += _ops_used(a)
    return names


def proxy_info(program: Program, name: str, batch_size: int) -> dict:
    grads = any(k.split("_")[0] in GRAD_FAMILIES for k in program.kinds)
    return {
        "name": name,
        "batch_size": batch_size,
        "needs_data": any(k.endswith(("_D", "_P")) for k in program.kinds),
        "needs_labels": grads,
        "needs_grad": grads,
        "kinds": list(program.kinds),
    }


def render(
    program: Program | str,
    *,
    name: str = "eznas_proxy",
    batch_size: int = 1,
    to_scalar: str = "mean",
    aggregate: str = "mean",
    note: str = "",
) -> str:
    """The source text of the standalone module for ``program``."""
    program = compile_tree(program) if isinstance(program, str) else program
    if to_scalar not in TO_SCALAR:
        raise ValueError(f"to_scalar {to_scalar!r}; allowed: {', '.join(TO_SCALAR)}")
    aggregations = {"mean": "sum(values) / len(values)", "sum": "sum(values)"}
    aggregations |= {"amax": "max(values)", "amin": "min(values)"}
    if aggregate not in aggregations:
        raise ValueError(f"aggregate {aggregate!r}; allowed: {', '.join(aggregations)}")
    fns = {get_op(n).fn for n in _ops_used(program.root)} | {TO_SCALAR[to_scalar]}
    ops_src = "\n\n".join(_source(f) for f in sorted(fns, key=lambda f: f.__name__))
    helpers = "\n\n".join(_source(f) for f in (flat, lift, safe_div))
    info = proxy_info(program, name, batch_size)
    doc = (
        f"EZNAS proxy {name!r}, exported by eznas (standalone: needs only torch).\n\n"
        f"DEAP tree: {program.text}\n\n"
        f"Formula per ReLU-Conv-BN block (sympy):\n    {formula(program)}\n\n"
        f"Network score: {aggregate} over its blocks of {to_scalar}(formula).\n"
        f"Kinds: T1 = ReLU input, T2 = ReLU output, T3 = conv weight, T4 = conv output;\n"
        f"G = gradient of the cross-entropy loss; _D data, _N N(0,1) noise, _P data + noise.\n"
        f"Division, reciprocal, log and sqrt are protected (x/0 = 0, log|x|, sqrt|x|).\n"
        + (f"\n{note}\n" if note else "")
    )
    return TEMPLATE.format(
        doc=doc,
        info=pprint.pformat(info, sort_dicts=False),
        eps=repr(EPS),
        helpers=helpers,
        ops=ops_src,
        call=_call(program.root),
        to_scalar=TO_SCALAR[to_scalar].__name__,
        aggregate=aggregations[aggregate],
    )


def export_program(program: Program | str, out: str | Path, **options) -> Path:
    """Write the module for ``program`` to ``out``; ``options`` as for ``render``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(program, **options))
    return out


TEMPLATE = '''"""{doc}"""

import torch
import torch.nn.functional as F
from torch import nn

PROXY_INFO = {info}

EPS = {eps}
FAMILIES = {{"T1": 0, "T2": 1, "T3": 2, "T4": 3}}


{helpers}

{ops}

def program(t: dict) -> torch.Tensor:
    """The tree on stacked statistics: each tensor has a leading block axis."""
    return {call}


def score_block(stats: dict) -> float:
    """The program's value for one block's statistics {{kind: tensor (no block axis)}}."""
    t = {{k: torch.as_tensor(stats[k], dtype=torch.float32)[None] for k in PROXY_INFO["kinds"]}}
    with torch.no_grad():
        return float({to_scalar}(program(t).double())[0])


def aggregate(values: list) -> float:
    return {aggregate}


def make_inputs(inputs: torch.Tensor, seed: int) -> dict:
    """D is the batch; N and P come from ``seed`` exactly as eznas.data.make_batches."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(inputs.shape, generator=gen)
    perturbation = torch.randn(inputs.shape, generator=gen)
    return {{"D": inputs, "N": noise, "P": inputs + perturbation}}


def _blocks(calls: list) -> list:
    """(relu, conv) call pairs where ReLU output feeds the conv and the conv feeds a BN."""
    producer, found = {{}}, []
    for module, x, y in calls:
        if isinstance(module, nn.BatchNorm2d):
            conv = producer.get(id(x))
            relu = conv and producer.get(id(conv[1]))
            if conv and isinstance(conv[0], nn.Conv2d) and relu and isinstance(relu[0], nn.ReLU):
                found.append((relu, conv))
        producer[id(y)] = (module, x, y)
    return found


def capture(model: nn.Module, inputs: torch.Tensor, labels, seed: int = 0) -> list:
    """Per ReLU-Conv-BN block, the tensors of the kinds the program uses (train mode)."""
    kinds = PROXY_INFO["kinds"]
    batches = make_inputs(inputs, seed)
    calls, handles, inplace = [], [], []
    for module in model.modules():
        if isinstance(module, (nn.ReLU, nn.Conv2d, nn.BatchNorm2d)):
            handles.append(module.register_forward_hook(lambda m, a, y: calls.append((m, a[0], y))))
            if isinstance(module, nn.ReLU) and module.inplace:
                module.inplace = False
                inplace.append(module)
    was_training = model.training
    model.train()
    out = None
    try:
        for x_kind in [x for x in "DNP" if any(k.endswith("_" + x) for k in kinds)] or ["D"]:
            mine = [k for k in kinds if k.endswith("_" + x_kind)]
            grads = [k for k in mine if "G_" in k]
            x = batches[x_kind].detach().clone().requires_grad_(bool(grads))
            calls.clear()
            with torch.set_grad_enabled(bool(grads)):
                logits = model(x)
            blocks = _blocks(calls)
            if out is None:
                out = [{{}} for _ in blocks]
                if "T3" in kinds:
                    for stats, (_, conv) in zip(out, blocks):
                        stats["T3"] = conv[0].weight.detach().clone()
            for stats, block in zip(out, blocks):
                for k in mine:
                    if "G_" not in k:
                        stats[k] = _live(block, k).detach()
            if grads:
                loss = F.cross_entropy(logits, labels)
                targets, slot, want = [], {{}}, []
                for i, block in enumerate(blocks):
                    for k in grads:
                        tensor = _live(block, k)
                        if id(tensor) not in slot:
                            slot[id(tensor)] = len(targets)
                            targets.append(tensor)
                        want.append((i, k, slot[id(tensor)]))
                values = torch.autograd.grad(
                    loss, targets, allow_unused=True, materialize_grads=True
                )
                for i, k, j in want:
                    out[i][k] = values[j]
            calls.clear()
    finally:
        for handle in handles:
            handle.remove()
        for module in inplace:
            module.inplace = True
        model.train(was_training)
    return out


def _live(block, kind: str) -> torch.Tensor:
    (_, relu_in, relu_out), (conv, _, conv_out) = block
    return (relu_in, relu_out, conv.weight, conv_out)[FAMILIES[kind[:2]]]


def score_model(
    model: nn.Module, inputs: torch.Tensor, labels=None, *, seed: int = 0, **context
) -> float:
    """Score an untrained model on one batch (D = inputs; N and P made from ``seed``)."""
    blocks = capture(model, inputs, labels, seed)
    if not blocks:
        raise ValueError("the model has no ReLU-Conv2d-BatchNorm2d blocks to score")
    return aggregate([score_block(stats) for stats in blocks])
'''
