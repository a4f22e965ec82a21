"""Registry of the tensor operations a program is built from, with their shape rules.

Every op works on *stacked* tensors: axis 0 indexes blocks (RCBs of one shape, possibly from
many networks) and the rest is the block's own tensor, its "item shape". Shape rules act on
item shapes only, so a program's validity for a block depends on the block's tensor shapes.
No op has a scalar hyper-parameter (EZNAS: power is fixed to square, noise is N(0, 1)).
Protected ops never turn finite inputs into NaN/inf, except where the maths diverges
(``exp`` overflow, ``logdet`` of a singular matrix); such programs are invalid.

Op functions use only ``torch`` and ``EPS`` so that ``eznas.gp.export`` can copy their
source into a standalone module.

Shape rules (``s`` any item shape, ``()`` a scalar, ``(a, *r)`` a tensor with first axis a):

=========== ================================================== =========================
rule        ops                                                output shape
=========== ================================================== =========================
same        abs neg square sqrt log exp sigmoid tanh relu      s -> s
            sign reciprocal minmax standardise softmax
            l2normalise
equal       add sub mul div max min                            (s, s) -> s; (s, ()) and
                                                               ((), s) -> s; else invalid
reduce      mean sum std l1 l2 amax amin                       s -> ()
pair        cosine hamming inner pearson                       (s, s) -> (); else invalid
gram0       gram_sample code_gram (rows = axis 0, the batch)   (a, *r) -> (a, a), ndim>=2
gram1       gram_channel corr_channel (rows = axis 1, e.g.     (a, b, *r) -> (b, b)
            channels)
square      logdet trace eig_entropy eig_min eig_max           (a, a) -> (); else invalid
            eff_rank cond
=========== ================================================== =========================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

EPS = 1e-12

Shape = tuple[int, ...]


class ShapeError(ValueError):
    """An op was applied to shapes it does not accept: the program is invalid."""


def _same(s: Shape) -> Shape:
    return s


def _equal(a: Shape, b: Shape) -> Shape:
    if a == b or b == ():
        return a
    if a == ():
        return b
    raise ShapeError(f"shapes {a} and {b} differ")


def _reduce(s: Shape) -> Shape:
    return ()


def _pair(a: Shape, b: Shape) -> Shape:
    if a != b:
        raise ShapeError(f"shapes {a} and {b} differ")
    return ()


def _gram0(s: Shape) -> Shape:
    if len(s) < 2:
        raise ShapeError(f"gram over axis 0 needs >= 2 axes, got {s}")
    return (s[0], s[0])


def _gram1(s: Shape) -> Shape:
    if len(s) < 2:
        raise ShapeError(f"gram over axis 1 needs >= 2 axes, got {s}")
    return (s[1], s[1])


def _square(s: Shape) -> Shape:
    if len(s) != 2 or s[0] != s[1]:
        raise ShapeError(f"needs a square matrix, got {s}")
    return ()


SHAPE_RULES: dict[str, Callable[..., Shape]] = {
    "same": _same,
    "equal": _equal,
    "reduce": _reduce,
    "pair": _pair,
    "gram0": _gram0,
    "gram1": _gram1,
    "square": _square,
}
ARITY = {"same": 1, "equal": 2, "reduce": 1, "pair": 2, "gram0": 1, "gram1": 1, "square": 1}


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    rule: str
    fn: Callable[..., torch.Tensor]
    sympy: str  # how the formula renders it: a sympy expression template over x, y

    def shape(self, *shapes: Shape) -> Shape:
        return SHAPE_RULES[self.rule](*shapes)


OPS: dict[str, Op] = {}


def gp_op(name: str, arity: int, rule: str, sympy: str | None = None):
    """Register ``fn(*stacked tensors) -> stacked tensor`` as op ``name`` with a shape rule."""
    if rule not in SHAPE_RULES:
        raise ValueError(f"unknown shape rule {rule!r}; allowed: {', '.join(SHAPE_RULES)}")
    if ARITY[rule] != arity:
        raise ValueError(f"op {name!r}: rule {rule!r} takes {ARITY[rule]} arguments, not {arity}")

    def add(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        if name in OPS:
            raise ValueError(f"op {name!r} registered twice")
        args = "x" if arity == 1 else "x, y"
        OPS[name] = Op(name, arity, rule, fn, sympy or f"Function('{name}')({args})")
        return fn

    return add


def get_op(name: str) -> Op:
    try:
        return OPS[name]
    except KeyError:
        raise ValueError(f"unknown op {name!r}; available: {', '.join(sorted(OPS))}") from None


# Helpers below are copied into exported modules with the ops that use them.
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


# ---------------------------------------------------------------- element-wise unary
@gp_op("abs", 1, "same", "Abs(x)")
def op_abs(x: torch.Tensor) -> torch.Tensor:
    return x.abs()


@gp_op("neg", 1, "same", "-x")
def op_neg(x: torch.Tensor) -> torch.Tensor:
    return -x


@gp_op("square", 1, "same", "x**2")
def op_square(x: torch.Tensor) -> torch.Tensor:
    return x * x


@gp_op("sqrt", 1, "same", "sqrt(Abs(x))")
def op_sqrt(x: torch.Tensor) -> torch.Tensor:
    return x.abs().sqrt()


@gp_op("log", 1, "same", "log(Abs(x))")
def op_log(x: torch.Tensor) -> torch.Tensor:
    return (x.abs() + EPS).log()


@gp_op("exp", 1, "same", "exp(x)")
def op_exp(x: torch.Tensor) -> torch.Tensor:
    return x.exp()


@gp_op("sigmoid", 1, "same", "1/(1 + exp(-x))")
def op_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x)


@gp_op("tanh", 1, "same", "tanh(x)")
def op_tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x)


@gp_op("relu", 1, "same", "Max(x, 0)")
def op_relu(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x)


@gp_op("sign", 1, "same", "sign(x)")
def op_sign(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x)


@gp_op("reciprocal", 1, "same", "1/x")
def op_reciprocal(x: torch.Tensor) -> torch.Tensor:
    return safe_div(torch.ones_like(x), x)


@gp_op("minmax", 1, "same")
def op_minmax(x: torch.Tensor) -> torch.Tensor:
    f = flat(x)
    lo, hi = f.min(1).values, f.max(1).values
    return safe_div(x - lift(lo, x), lift(hi - lo, x))


@gp_op("standardise", 1, "same")
def op_standardise(x: torch.Tensor) -> torch.Tensor:
    f = flat(x)
    mean = f.mean(1)
    std = f.std(1, correction=0)
    return safe_div(x - lift(mean, x), lift(std, x))


@gp_op("softmax", 1, "same")
def op_softmax(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(flat(x), 1).reshape(x.shape)


@gp_op("l2normalise", 1, "same")
def op_l2normalise(x: torch.Tensor) -> torch.Tensor:
    return safe_div(x, lift(flat(x).norm(dim=1), x))


# ---------------------------------------------------------------- element-wise binary
@gp_op("add", 2, "equal", "x + y")
def op_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return lift(x, y) + lift(y, x)


@gp_op("sub", 2, "equal", "x - y")
def op_sub(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return lift(x, y) - lift(y, x)


@gp_op("mul", 2, "equal", "x * y")
def op_mul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return lift(x, y) * lift(y, x)


@gp_op("div", 2, "equal", "x / y")
def op_div(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x, y = lift(x, y), lift(y, x)
    return safe_div(x, y.expand_as(x) if y.dim() < x.dim() else y)


@gp_op("max", 2, "equal", "Max(x, y)")
def op_max(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.maximum(lift(x, y), lift(y, x))


@gp_op("min", 2, "equal", "Min(x, y)")
def op_min(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.minimum(lift(x, y), lift(y, x))


# ---------------------------------------------------------------- reductions to a scalar
@gp_op("mean", 1, "reduce")
def op_mean(x: torch.Tensor) -> torch.Tensor:
    return flat(x).mean(1)


@gp_op("sum", 1, "reduce")
def op_sum(x: torch.Tensor) -> torch.Tensor:
    return flat(x).sum(1)


@gp_op("std", 1, "reduce")
def op_std(x: torch.Tensor) -> torch.Tensor:
    return flat(x).std(1, correction=0)


@gp_op("l1", 1, "reduce")
def op_l1(x: torch.Tensor) -> torch.Tensor:
    return flat(x).abs().sum(1)


@gp_op("l2", 1, "reduce")
def op_l2(x: torch.Tensor) -> torch.Tensor:
    return flat(x).norm(dim=1)


@gp_op("amax", 1, "reduce")
def op_amax(x: torch.Tensor) -> torch.Tensor:
    return flat(x).max(1).values


@gp_op("amin", 1, "reduce")
def op_amin(x: torch.Tensor) -> torch.Tensor:
    return flat(x).min(1).values


# ---------------------------------------------------------------- pairwise to a scalar
@gp_op("inner", 2, "pair")
def op_inner(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (flat(x) * flat(y)).sum(1)


@gp_op("cosine", 2, "pair")
def op_cosine(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    a, b = flat(x), flat(y)
    return safe_div((a * b).sum(1), a.norm(dim=1) * b.norm(dim=1))


@gp_op("pearson", 2, "pair")
def op_pearson(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    a, b = flat(x), flat(y)
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return safe_div((a * b).sum(1), a.norm(dim=1) * b.norm(dim=1))


@gp_op("hamming", 2, "pair")
def op_hamming(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of positions where the sign patterns (x > 0, y > 0) disagree."""
    return ((flat(x) > 0) != (flat(y) > 0)).to(x.dtype).mean(1)


# ---------------------------------------------------------------- structural
@gp_op("gram_sample", 1, "gram0")
def op_gram_sample(x: torch.Tensor) -> torch.Tensor:
    rows = x.reshape(x.shape[0], x.shape[1], -1)
    return rows @ rows.transpose(1, 2)


@gp_op("gram_channel", 1, "gram1")
def op_gram_channel(x: torch.Tensor) -> torch.Tensor:
    rows = x.transpose(1, 2).reshape(x.shape[0], x.shape[2], -1)
    return rows @ rows.transpose(1, 2)


@gp_op("corr_channel", 1, "gram1")
def op_corr_channel(x: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of the rows along axis 1 (channels) over all other axes (samples
    and positions pooled): MeCo's matrix for a one-sample feature map. A constant row has
    no correlation and gets a zero row and column (diagonal included), as MeCo maps
    ``corrcoef``'s NaN to 0; computed in float64."""
    rows = x.transpose(1, 2).reshape(x.shape[0], x.shape[2], -1).double()
    rows = rows - rows.mean(2, keepdim=True)
    unit = safe_div(rows, rows.norm(dim=2, keepdim=True))
    return (unit @ unit.transpose(1, 2)).clamp(-1, 1).to(x.dtype)


@gp_op("logdet", 1, "square")
def op_logdet(x: torch.Tensor) -> torch.Tensor:
    """log |det x|: -inf for a singular matrix, which makes the program invalid."""
    return torch.linalg.slogdet(x.double()).logabsdet.to(x.dtype)


@gp_op("trace", 1, "square")
def op_trace(x: torch.Tensor) -> torch.Tensor:
    return x.diagonal(dim1=1, dim2=2).sum(1)


# ---------------------------------------------------------------- spectra and codes
@gp_op("eig_entropy", 1, "square")
def op_eig_entropy(x: torch.Tensor) -> torch.Tensor:
    """Entropy of the normalised spectrum |l_i| / sum |l|: AZ-NAS's expressivity of a
    feature covariance (how evenly the directions are used)."""
    return spectral_entropy(x).to(x.dtype)


@gp_op("eig_min", 1, "square")
def op_eig_min(x: torch.Tensor) -> torch.Tensor:
    """Smallest eigenvalue (MeCo reads it from a correlation matrix)."""
    return spectrum(x)[:, 0].to(x.dtype)


@gp_op("eig_max", 1, "square")
def op_eig_max(x: torch.Tensor) -> torch.Tensor:
    return spectrum(x)[:, -1].to(x.dtype)


@gp_op("eff_rank", 1, "square")
def op_eff_rank(x: torch.Tensor) -> torch.Tensor:
    """Effective rank: exp of the spectral entropy (1 .. n)."""
    return spectral_entropy(x).exp().to(x.dtype)


@gp_op("cond", 1, "square")
def op_cond(x: torch.Tensor) -> torch.Tensor:
    """Condition number max |l| / min |l|, scale-free; protected: 0 when min |l| / max |l|
    is below EPS (a singular or zero matrix)."""
    magnitude = spectrum(x).abs()
    top = magnitude.max(1).values
    ratio = magnitude.min(1).values / torch.where(top > 0, top, torch.ones_like(top))
    return safe_div(torch.ones_like(ratio), ratio).to(x.dtype)


@gp_op("code_gram", 1, "gram0")
def op_code_gram(x: torch.Tensor) -> torch.Tensor:
    """Agreement of activation codes between rows (samples): the fraction of units where
    two rows are both active (> 0) or both inactive, NASWOT's kernel scaled to [0, 1]."""
    signs = torch.where(x > 0, 1.0, -1.0).reshape(x.shape[0], x.shape[1], -1).to(x.dtype)
    return (signs @ signs.transpose(1, 2) / signs.shape[2] + 1) / 2
