"""Runs examples/python/snn_lif.py as a user would (a fresh interpreter, small sizes) and checks
what it prints: the device simulation against numpy, and the spiking layer's loss going down."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "python" / "snn_lif.py"


@pytest.mark.skipif(not EXAMPLE.is_file(), reason="examples/ is not beside the tests")
def test_snn_lif_example():
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--steps", "400", "--neurons", "16",
                           "--train-steps", "15"], capture_output=True, text=True, timeout=240,
                          env=dict(os.environ, GRILLY_QUIET="1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "snn_lif ok" in out
    assert int(re.search(r"max spike-count difference against numpy (\d+)", out).group(1)) <= 2
    first, last = map(float, re.search(r"rate loss ([0-9.]+) -> ([0-9.]+)", out).groups())
    assert last < first
