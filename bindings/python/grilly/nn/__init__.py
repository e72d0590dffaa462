"""grilly.nn: PyTorch-like modules (grilly.nn.modules), initialisers (grilly.nn.init over
grl_init_*) and gradient clipping (grilly.nn.utils over grl_clip_grad_*)."""

from . import functional, init, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .modules import _adopt, _init_seed  # noqa: F401  (used by other grilly modules)

__all__ = list(_modules_all) + ["init", "utils"]
