"""Zero-cost proxies behind one interface: a registry of hand-designed ones (and exported)."""

from eznas.proxies import (  # noqa: F401  (each module registers its proxies)
    arch_metrics,
    az_nas,
    cost,
    epsilon,
    gradient,
    jacob_cov,
    lossslope,
    meco,
    naswot,
    swap,
    synflow,
    tenas,
    vkdnw,
    zen,
    zico,
)
from eznas.proxies.base import PROXIES, Proxy, check_spaces, get_proxy, register_proxy

__all__ = ["PROXIES", "Proxy", "check_spaces", "get_proxy", "register_proxy"]
