"""Export a program as a standalone, torch-only Python module that anyone can run or read.

The module holds a copy of ``eznas.runtime`` (the block finder, the D/N/P inputs and the
statistics capture the collector itself uses), the ops the program uses (their source,
copied from ``eznas.gp.ops``), ``score_block(stats) -> float`` for one block's statistics
and ``score_model(model, inputs, labels, *, seed=0) -> float``, which captures only the
kinds the program uses. ``PROXY_INFO`` says what the proxy needs, so the module can be
loaded by path wherever a proxy name is accepted. Its docstring carries the DEAP tree and a
sympy-simplified formula.
"""

from __future__ import annotations

import inspect
import pprint
from collections.abc import Sequence
from pathlib import Path

import sympy

from eznas import runtime
from eznas.gp.individual import Individual
from eznas.gp.network import (
    count,
    drop_repeats,
    fill,
    first_and_last,
    get_net_op,
    mean_of,
    min_step_of,
    present,
)
from eznas.gp.ops import EPS, flat, get_op, lift, safe_div, spectral_entropy, spectrum
from eznas.gp.program import TO_SCALAR, Node, Program, compile_tree
from eznas.runtime import check_pattern, parse_kind, plan_captures

Captures = Sequence[tuple[int, Sequence[str] | None]]

NETWORK_HELPERS = (present, fill, count, first_and_last, drop_repeats, mean_of, min_step_of)


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
    return "\n".join(line for line in lines if not line.startswith(("@gp_op", "@net_op"))) + "\n"


def _call(node: Node) -> str:
    if node.is_kind:
        return f't["{node.name}"]'
    return f"{get_op(node.name).fn.__name__}({', '.join(_call(a) for a in node.args)})"


def _ops_used(node: Node) -> list[str]:
    names = [] if node.is_kind else [node.name]
    for a in node.args:
        names += _ops_used(a)
    return names


def proxy_info(program: Program, name: str, captures: Captures, pattern: str = "rcb") -> dict:
    """What the proxy needs; ``captures`` are the (batch size, kinds or None) the run's caches
    were collected with, and each kind is captured as its cache was (``plan_captures``)."""
    kinds = [parse_kind(k) for k in program.kinds]
    grads = any(k.grad for k in kinds)
    plan = plan_captures(program.kinds, captures)
    return {
        "name": name,
        "batch_size": max(size for size, _ in plan),
        "needs_data": any(k.input in ("D", "P") for k in kinds),
        "needs_labels": grads,
        "needs_grad": grads,
        "kinds": list(program.kinds),
        "captures": [[size, mine] for size, mine in plan],
        "pattern": pattern,
    }


def _runtime_source() -> str:
    """``eznas.runtime`` without its module docstring (the exported file has its own)."""
    source = inspect.getsource(runtime)
    return source[source.index("from __future__") :]


def render(
    program: Program | str,
    *,
    name: str = "eznas_proxy",
    batch_size: int = 1,
    captures: Captures | None = None,
    to_scalar: str = "mean",
    aggregate: str = "mean",
    pattern: str = "rcb",
    note: str = "",
) -> str:
    """The source text of the standalone module for ``program`` (blocks found by ``pattern``);
    statistics are captured at ``batch_size``, or as ``captures`` (see ``proxy_info``)."""
    program = compile_tree(program) if isinstance(program, str) else program
    check_pattern(pattern)
    if to_scalar not in TO_SCALAR:
        raise ValueError(f"to_scalar {to_scalar!r}; allowed: {', '.join(TO_SCALAR)}")
    network_op = get_net_op(aggregate)
    fns = {get_op(n).fn for n in _ops_used(program.root)} | {TO_SCALAR[to_scalar]}
    ops_src = "\n\n".join(_source(f) for f in sorted(fns, key=lambda f: f.__name__))
    helpers = "\n\n".join(
        _source(f)
        for f in (flat, lift, safe_div, spectrum, spectral_entropy, *NETWORK_HELPERS, network_op)
    )
    info = proxy_info(program, name, captures or [(batch_size, None)], pattern)
    doc = (
        f"EZNAS proxy {name!r}, exported by eznas (standalone: needs only torch).\n\n"
        f"DEAP tree: {program.text}\n\n"
        f"Formula per {pattern.upper()} block (sympy):\n    {formula(program)}\n\n"
        f"Network score: {aggregate} over its blocks of {to_scalar}(formula).\n"
        f"Kinds: T1 = ReLU input, T2 = ReLU output, T3 = conv weight, T4 = conv output;\n"
        f"G = gradient of the cross-entropy loss; _D data, _N N(0,1) noise, _P data + noise.\n"
        f"Summaries of a kind over the batch's samples: C_ channel covariance, S_ sample Gram,\n"
        f"K_ activation-code agreement kernel, L_ per-sample L2 norms.\n"
        f"Division, reciprocal, log and sqrt are protected (x/0 = 0, log|x|, sqrt|x|).\n"
        + (f"\n{note}\n" if note else "")
    )
    return TEMPLATE.format(
        doc=doc,
        runtime=_runtime_source(),
        info=pprint.pformat(info, sort_dicts=False),
        eps=repr(EPS),
        helpers=helpers,
        ops=ops_src,
        call=_call(program.root),
        to_scalar=TO_SCALAR[to_scalar].__name__,
        network_op=network_op.__name__,
    )


def render_individual(
    individual: Individual,
    *,
    name: str = "eznas_proxy",
    batch_size: int = 1,
    captures: Captures | None = None,
    to_scalar: str = "mean",
    pattern: str = "rcb",
    note: str = "",
) -> str:
    """The module for an individual: one program is ``render``'s file; several components
    (and network terms) give a file whose ``score_component(i, ...)`` scores component i,
    combined by log-rank over the networks compared, which eznas does (``PROXY_INFO``)."""
    if individual.size == 1:
        component = individual.components[0]
        return render(
            component.program,
            name=name,
            batch_size=batch_size,
            captures=captures,
            to_scalar=to_scalar,
            aggregate=component.aggregate,
            pattern=pattern,
            note=note,
        )
    check_pattern(pattern)
    components = individual.components
    network_ops = [get_net_op(c.aggregate) for c in components]
    fns = {get_op(n).fn for c in components for n in _ops_used(c.program.root)}
    fns |= {TO_SCALAR[to_scalar]}
    ops_src = "\n\n".join(_source(f) for f in sorted(fns, key=lambda f: f.__name__))
    helpers = (flat, lift, safe_div, spectrum, spectral_entropy, *NETWORK_HELPERS)
    helpers += tuple(dict.fromkeys(network_ops))
    entries = [
        proxy_info(c.program, f"{name}#{i}", captures or [(batch_size, None)], pattern)
        for i, c in enumerate(components)
    ]
    info = {
        "name": name,
        "batch_size": max(entry["batch_size"] for entry in entries),
        "pattern": pattern,
        "combine": "logrank",
        "components": entries,
        "terms": list(individual.terms),
    }
    for entry, c in zip(info["components"], components, strict=True):
        entry["aggregate"] = c.aggregate
    lines = [f"  {i}: {c.aggregate} over blocks of {to_scalar}({formula(c.program)})"
             for i, c in enumerate(components)]  # fmt: skip
    doc = (
        f"EZNAS proxy {name!r}, exported by eznas (standalone: needs only torch).\n\n"
        f"Individual: {individual.text()}\n\n"
        f"Components, per {pattern.upper()} block (sympy):\n" + "\n".join(lines) + "\n\n"
        "The proxy ranks the networks compared by each component and by each network term\n"
        f"({', '.join(individual.terms) or 'none'}: library proxies) and sums log(rank / n)\n"
        "(AZ-NAS's aggregation): eznas does that wherever the file is given as a proxy.\n"
        + (f"\n{note}\n" if note else "")
    )
    programs = "\n\n\n".join(
        f"def program_{i}(t: dict) -> torch.Tensor:\n    return {_call(c.program.root)}"
        for i, c in enumerate(components)
    )
    return MULTI_TEMPLATE.format(
        doc=doc,
        runtime=_runtime_source(),
        info=pprint.pformat(info, sort_dicts=False),
        eps=repr(EPS),
        helpers="\n\n".join(_source(f) for f in helpers),
        ops=ops_src,
        programs=programs,
        program_list=", ".join(f"program_{i}" for i in range(len(components))),
        network_ops=", ".join(op.__name__ for op in network_ops),
        to_scalar=TO_SCALAR[to_scalar].__name__,
    )


def export_program(program: Program | str, out: str | Path, **options) -> Path:
    """Write the module for ``program`` to ``out``; ``options`` as for ``render``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(program, **options))
    return out


def export_individual(individual: Individual, out: str | Path, **options) -> Path:
    """Write the module for ``individual`` to ``out``; ``options`` as for
    ``render_individual``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_individual(individual, **options))
    return out


HEADER = '''"""{doc}"""

{runtime}

# ---------------------------------------------------------------- the evolved proxy
PROXY_INFO = {info}

EPS = {eps}


{helpers}

{ops}
'''
"""What every exported file starts with: the runtime, what the proxy needs, the helpers and
the ops its programs use."""


TEMPLATE = (
    HEADER
    + '''
def program(t: dict) -> torch.Tensor:
    """The tree on stacked statistics: each tensor has a leading block axis."""
    return {call}


def score_block(stats: dict) -> float:
    """The program's value for one block's statistics {{kind: tensor (no block axis)}}."""
    t = {{k: torch.as_tensor(stats[k], dtype=kind_dtype(k))[None] for k in PROXY_INFO["kinds"]}}
    with torch.no_grad():
        return float({to_scalar}(program(t).double())[0])


def aggregate(values: list) -> float:
    """The network op over the blocks' values in depth order."""
    depth = torch.tensor(values, dtype=torch.float64).reshape(1, 1, -1)
    return float({network_op}(depth)[0, 0])


def score_model(
    model: nn.Module,
    inputs: torch.Tensor,
    labels=None,
    *,
    seed: int = 0,
    batch=None,
    pattern: str | None = None,
    **context,
) -> float:
    """Score an untrained model on one batch (D = inputs; N and P made from ``seed``); a
    proxy capturing at several batch sizes reads the others from ``batch(size)``. Blocks
    follow ``pattern`` (default: the one the proxy was evolved with; eznas passes the
    scored space's own, so the roles T1..T4 carry over to Conv-BN-ReLU spaces)."""
    pattern = pattern or PROXY_INFO["pattern"]
    blocks = capture_planned(
        model, PROXY_INFO["captures"], inputs, labels, seed, pattern, batch
    )
    kinds = PROXY_INFO["kinds"]  # its rows: the blocks, or the stage maps for T6 kinds
    return aggregate([score_block(s) for s in blocks if all(k in s for k in kinds)])
'''
)


MULTI_TEMPLATE = (
    HEADER
    + '''
{programs}


PROGRAMS = [{program_list}]
NETWORK_OPS = [{network_ops}]
SHARED_PLAN = [
    [size, sorted({{k for c in PROXY_INFO["components"] for s, kinds in c["captures"]
                   if s == size for k in kinds}})]
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
        t = {{k: torch.as_tensor(stats[k], dtype=kind_dtype(k))[None] for k in kinds}}
        with torch.no_grad():
            values.append(float({to_scalar}(PROGRAMS[index](t).double())[0]))
    depth = torch.tensor(values, dtype=torch.float64).reshape(1, 1, -1)
    return float(NETWORK_OPS[index](depth)[0, 0])
'''
)
