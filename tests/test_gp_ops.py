"""Ops registry: every op's shape rule and NaN/inf behaviour, on real NB201 RCB tensors."""

from __future__ import annotations

import pytest
import torch

from eznas.data import make_batches
from eznas.gp.ops import OPS, ShapeError, get_op
from eznas.spaces import get_space
from eznas.stats import collect_model

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def block():
    """Real RCB statistics (a stage-1 3x3 cell conv of an NB201 network, B = 2)."""
    torch.manual_seed(0)
    model = get_space("nb201").build(ARCH, "cifar10")
    stats = collect_model(model, make_batches("cifar10", 2, 0), kinds=["T1_D", "T1G_D", "T3"])
    return stats[0]


def stacked(*tensors: torch.Tensor) -> list[torch.Tensor]:
    return [t.unsqueeze(0) for t in tensors]


def test_registry_has_all_issue_ops():
    assert len(OPS) >= 34
    for rule in ("same", "equal", "reduce", "pair", "gram0", "gram1", "square"):
        assert any(op.rule == rule for op in OPS.values()), rule
    with pytest.raises(ValueError, match="unknown op 'power'"):
        get_op("power")


@pytest.mark.parametrize("name", sorted(OPS))
def test_shape_rule_matches_output(name, block):
    """The shape rule predicts the op's real output shape on every compatible input."""
    op = OPS[name]
    x, y = block["T1_D"], block["T1G_D"]  # (B, C, H, W), B = 2
    args = [x, y][: op.arity]
    if op.rule == "square":
        args = [block["T3"].reshape(16, -1) @ block["T3"].reshape(16, -1).T]
    expected = op.shape(*(tuple(a.shape) for a in args))
    out = op.fn(*stacked(*args))
    assert tuple(out.shape) == (1, *expected)
    assert torch.isfinite(out).all(), name


def test_incompatible_shapes_are_invalid(block):
    t1, t3 = (tuple(block[k].shape) for k in ("T1_D", "T3"))
    bad_input = tuple(block["T3"].reshape(16, -1).shape[::-1])
    for name in ("add", "sub", "mul", "div", "max", "min", "cosine", "inner", "pearson", "hamming"):
        with pytest.raises(ShapeError):
            OPS[name].shape(t1, t3)
    assert OPS["add"].shape(t1, ()) == t1  # a scalar operand is allowed explicitly
    assert OPS["gram_sample"].shape(t1) == (2, 2)
    assert OPS["gram_channel"].shape(t3) == (t3[1], t3[1])
    for name in ("logdet", "trace"):
        with pytest.raises(ShapeError):
            OPS[name].shape(t1)
        with pytest.raises(ShapeError):
            OPS[name].shape(bad_input)
    with pytest.raises(ShapeError):
        OPS["gram_sample"].shape(())


def test_protected_ops_stay_finite_on_zeros_and_negatives(block):
    zero = torch.zeros_like(block["T1_D"])
    neg = -block["T1_D"].abs()
    for name, op in OPS.items():
        if op.rule == "square":
            continue
        for x in (zero, neg):
            out = op.fn(*stacked(*[x, zero][: op.arity]))
            if name != "exp":
                assert torch.isfinite(out).all(), name


def test_divergent_ops_give_inf_and_nan_propagates(block):
    big = block["T1_D"].abs() * 0 + 1000.0
    assert torch.isinf(OPS["exp"].fn(big.unsqueeze(0))).all()
    singular = torch.zeros(1, 3, 3)
    assert torch.isneginf(OPS["logdet"].fn(singular)).all()
    nan = block["T1_D"].clone()
    nan[0, 0, 0, 0] = float("nan")
    for name in ("mean", "sum", "l2", "add", "mul", "square", "inner"):
        op = OPS[name]
        out = op.fn(*stacked(*[nan, nan][: op.arity]))
        assert torch.isnan(out).any(), name


def test_ops_agree_with_direct_torch(block):
    x, y = block["T1_D"], block["T1G_D"]
    [sx, sy] = stacked(x, y)
    assert torch.allclose(
        OPS["cosine"].fn(sx, sy)[0], torch.cosine_similarity(x.flatten(), y.flatten(), 0)
    )
    corr = torch.corrcoef(torch.stack([x.flatten(), y.flatten()]))[0, 1]
    assert torch.allclose(OPS["pearson"].fn(sx, sy)[0], corr, atol=1e-6)
    rows = x.reshape(2, -1)
    assert torch.allclose(OPS["gram_sample"].fn(sx)[0], rows @ rows.T)
    ham = ((x > 0) != (y > 0)).float().mean()
    assert OPS["hamming"].fn(sx, sy)[0] == ham
    assert torch.allclose(OPS["softmax"].fn(sx)[0].sum(), torch.tensor(1.0))
    m = OPS["minmax"].fn(sx)[0]
    assert m.min() == 0 and m.max() == 1


def test_spectral_ops_on_known_spectra(block):
    eye = torch.eye(4).unsqueeze(0)
    diag = torch.diag(torch.tensor([1.0, 2.0, 3.0])).unsqueeze(0)
    rank_one = torch.ones(1, 3, 3)
    assert OPS["eig_entropy"].fn(eye)[0] == pytest.approx(float(torch.log(torch.tensor(4.0))))
    assert OPS["eig_entropy"].fn(rank_one)[0] == pytest.approx(0.0, abs=1e-6)
    assert OPS["eff_rank"].fn(eye)[0] == pytest.approx(4.0)
    assert OPS["eig_min"].fn(diag)[0] == pytest.approx(1.0)
    assert OPS["eig_max"].fn(diag)[0] == pytest.approx(3.0)
    assert OPS["cond"].fn(diag)[0] == pytest.approx(3.0)
    assert OPS["cond"].fn(torch.zeros(1, 3, 3))[0] == 0  # protected
    # on a real feature covariance: entropy between 0 and log(C)
    cov = OPS["gram_channel"].fn(block["T1_D"].unsqueeze(0))
    entropy = float(OPS["eig_entropy"].fn(cov)[0])
    assert 0 < entropy < float(torch.log(torch.tensor(float(cov.shape[1]))))
    for name in ("eig_entropy", "eig_min", "eig_max", "eff_rank", "cond"):
        with pytest.raises(ShapeError):
            OPS[name].shape(tuple(block["T1_D"].shape))


def test_code_gram_is_the_naswot_agreement_kernel(block):
    x = block["T1_D"]
    kernel = OPS["code_gram"].fn(x.unsqueeze(0))[0]
    codes = (x > 0).reshape(2, -1).float()
    agree = codes @ codes.T + (1 - codes) @ (1 - codes).T
    assert torch.allclose(kernel, agree / codes.shape[1], atol=1e-6)
    assert torch.allclose(kernel.diagonal(), torch.ones(2))
    assert OPS["code_gram"].shape(tuple(x.shape)) == (2, 2)


def test_spectral_shape_ops_ignore_the_scale():
    """Gradient covariances have entries near 1e-13: entropy and condition number must read
    them like the same matrix at scale 1."""
    m = torch.diag(torch.tensor([1.0, 2.0, 4.0])).unsqueeze(0)
    for name in ("eig_entropy", "eff_rank", "cond"):
        small = OPS[name].fn(m * 1e-13)[0]
        assert small == pytest.approx(float(OPS[name].fn(m)[0]), rel=1e-6), name


def test_corr_channel_is_meco_correlation_with_constant_channels_zeroed(block):
    """Pearson correlation of channels over samples and positions, as ``torch.corrcoef``;
    a constant channel (no correlation, NaN in corrcoef) gets a zero row and column."""
    x = block["T1_D"][:1].clone()  # (1, C, H, W): MeCo's one-sample map
    op = OPS["corr_channel"]
    assert op.shape(tuple(x.shape)) == (x.shape[1], x.shape[1])
    expected = torch.corrcoef(x[0].flatten(1).double()).float()
    assert torch.allclose(op.fn(x.unsqueeze(0))[0], expected, atol=1e-5)
    scaled = x * torch.rand(1, x.shape[1], 1, 1).add(0.5) + 3.0  # per-channel affine: BN
    assert torch.allclose(op.fn(scaled.unsqueeze(0)), op.fn(x.unsqueeze(0)), atol=1e-5)
    x[0, 2] = 7.0
    corr = op.fn(x.unsqueeze(0))[0]
    assert torch.isfinite(corr).all() and (corr[2] == 0).all() and (corr[:, 2] == 0).all()
    assert (op.fn(torch.zeros(1, *x.shape)) == 0).all()
    with pytest.raises(ShapeError):
        op.shape((5,))
