"""Jacobian covariance (the first NASWOT version, ``jacov`` in NASLib).

The input Jacobians J_i = d(sum f(x_i))/dx_i of a batch are correlated; a network whose
Jacobians are less correlated across inputs separates them better. With the eigenvalues v
of corrcoef(J) and k = 1e-5: score = -sum(log(v + k) + 1 / (v + k)) (NASLib's formula).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from eznas.proxies.base import register_proxy

EIGEN_OFFSET = 1e-5


@register_proxy("jacob_cov", needs_grad=True, batch_size=64)
def jacob_cov(model: nn.Module, inputs: torch.Tensor, labels, **_) -> float:
    """Jacobian covariance: -sum(log(v + k) + 1/(v + k)) over eigenvalues of corr(J)."""
    model.train()
    x = inputs.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x).sum(), x)
    jacobians = grad.flatten(1).double().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(jacobians)
    if not np.all(np.isfinite(corr)):
        return float("nan")  # a constant Jacobian (e.g. an all-'none' cell) has no correlation
    eigenvalues = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(eigenvalues + EIGEN_OFFSET) + 1.0 / (eigenvalues + EIGEN_OFFSET)))
