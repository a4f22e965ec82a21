"""Search spaces: a registry of SearchSpace implementations (``get_space("nb201")``)."""

from eznas.spaces.base import SPACES, SearchSpace, get_space, register_space
from eznas.spaces.nb101 import NB101Space
from eznas.spaces.nb201 import NB201Space
from eznas.spaces.nb301 import NB301Space
from eznas.spaces.nbmacro import NBMacroSpace

__all__ = [
    "SPACES",
    "NB101Space",
    "NB201Space",
    "NB301Space",
    "NBMacroSpace",
    "SearchSpace",
    "get_space",
    "register_space",
]
