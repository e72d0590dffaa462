"""grilly.save / grilly.load (safetensors through the C ABI): round trips of every dtype, module
state dicts, nested dicts, malformed files and bad input."""

import collections

import numpy as np
import pytest

import grilly
from grilly import nn


def test_round_trip_every_dtype(rng, tmp_path):
    data = collections.OrderedDict([
        ("f32", grilly.tensor(rng.standard_normal((2, 3)).astype(np.float32))),
        ("f16", grilly.tensor(rng.standard_normal(4).astype(np.float16))),
        ("bf16", grilly.tensor([1.5, -2.25], dtype=grilly.bfloat16)),
        ("i32", grilly.tensor(np.arange(5, dtype=np.int32))),
        ("i64", grilly.tensor(np.array([[1 << 40, -3]], dtype=np.int64))),
        ("u8", grilly.tensor(np.array([0, 255], dtype=np.uint8))),
        ("scalar", grilly.tensor(np.float32(3.5))),
    ])
    path = tmp_path / "t.safetensors"
    grilly.save(data, path)
    back = grilly.load(path)
    assert list(back) == list(data)
    for k, v in data.items():
        assert back[k].dtype is v.dtype and back[k].shape == v.shape, k
        np.testing.assert_array_equal(back[k].numpy(), v.numpy())


def test_module_state_and_nested_dicts(rng, tmp_path):
    grilly.manual_seed(2)
    m = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4))
    path = str(tmp_path / "m.safetensors")
    grilly.save({"model": m.state_dict(), "extra": np.arange(3.0)}, path)
    back = grilly.load(path)
    assert set(back) == {"model.0.weight", "model.0.bias", "model.1.weight", "model.1.bias",
                         "extra"}
    assert back["extra"].dtype is grilly.float32       # float64 arrays are stored as float32
    m2 = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4))
    m2.load_state_dict({k[len("model."):]: v for k, v in back.items() if k.startswith("model.")})
    x = rng.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(m2(x).numpy(), m(x).numpy())


def test_errors(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(grilly.GrillyIOError):
        grilly.load(bad)
    with pytest.raises(grilly.GrillyIOError):
        grilly.load(tmp_path / "missing.safetensors")
    with pytest.raises(grilly.GrillyIOError):
        grilly.save({"a": grilly.zeros(2)}, tmp_path / "no-such-dir" / "x.safetensors")
    with pytest.raises(TypeError):
        grilly.save([grilly.zeros(2)], tmp_path / "x.safetensors")
    with pytest.raises(TypeError):
        grilly.save({1: grilly.zeros(2)}, tmp_path / "x.safetensors")
    with pytest.raises(ValueError):
        grilly.save({"a.b": grilly.zeros(1), "a": {"b": grilly.zeros(1)}},
                    tmp_path / "x.safetensors")
