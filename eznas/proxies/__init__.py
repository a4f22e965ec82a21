"""Zero-cost proxies behind one interface: a registry of hand-designed ones (and exported)."""

from eznas.proxies import cost  # noqa: F401  (registers params, flops)
from eznas.proxies.base import PROXIES, Proxy, get_proxy, register_proxy

__all__ = ["PROXIES", "Proxy", "get_proxy", "register_proxy"]
