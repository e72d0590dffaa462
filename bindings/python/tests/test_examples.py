"""Runs each example of examples/python as a user would (a fresh interpreter), with small sizes,
and checks what it prints."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "python"


def _run(name, *args, timeout=240):
    env = dict(os.environ, GRILLY_QUIET="1")
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="examples/ is not beside the tests")


def test_quickstart():
    out = _run("quickstart.py")
    assert "quickstart ok" in out
    err = float(re.search(r"max error ([0-9.e+-]+)", out).group(1))
    assert err < 1e-5


def test_train_digits_few_epochs():
    out = _run("train_digits.py", "--epochs", "3", "--min-accuracy", "0.85", "--quiet")
    m = re.search(r"test accuracy ([0-9.]+)%", out.splitlines()[-1])
    assert m and float(m.group(1)) >= 85.0, out


def test_train_digits_jit():
    out = _run("train_digits.py", "--epochs", "2", "--jit", "--min-accuracy", "0.7", "--quiet")
    assert re.search(r"captured one training step: \d+ ops, replayed 88 times", out), out


def test_jit_speedup():
    out = _run("jit_speedup.py", "--steps", "10", "--hidden", "32")
    assert re.search(r"speed-up: [0-9.]+x", out), out
    diff = float(re.search(r"largest weight difference ([0-9.e+-]+)", out).group(1))
    assert diff <= 1e-5
