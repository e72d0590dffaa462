"""grilly.nn.functional: the same module as grilly.functional (as torch.nn.functional)."""

import sys

from .. import functional as _F

sys.modules[__name__] = _F
