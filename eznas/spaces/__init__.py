"""Search spaces: a registry of SearchSpace implementations (``get_space("nb201")``)."""

from eznas.spaces.base import SPACES, SearchSpace, get_space, register_space
from eznas.spaces.nb201 import NB201Space
from eznas.spaces.nb301 import NB301Space

__all__ = ["SPACES", "NB201Space", "NB301Space", "SearchSpace", "get_space", "register_space"]
