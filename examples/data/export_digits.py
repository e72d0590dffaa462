#!/usr/bin/env python3
"""Exports scikit-learn's bundled copy of the UCI optical-recognition 8x8 digits (1,797 images)
to digits.u8: per image, 64 pixel intensities (0..16, row-major) then the label (0..9), one byte
each. Run once (pip install scikit-learn); the examples read the committed file."""
import pathlib

import numpy as np
from sklearn.datasets import load_digits

d = load_digits()
rows = np.concatenate([d.data.astype(np.uint8), d.target.astype(np.uint8)[:, None]], axis=1)
out = pathlib.Path(__file__).with_name("digits.u8")
out.write_bytes(rows.tobytes())
print(f"wrote {out} ({rows.shape[0]} images, {out.stat().st_size} bytes)")
