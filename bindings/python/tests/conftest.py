"""Shared fixtures: the default device, and a check that the device's validation layer stayed quiet."""

import gc

import numpy as np
import pytest

import grilly


@pytest.fixture(scope="session")
def device():
    return grilly.default_device()


@pytest.fixture(autouse=True)
def no_validation_messages(device):
    before = device.validation_messages()
    yield
    assert device.validation_messages() == before, "the Vulkan validation layer reported messages"


@pytest.fixture(autouse=True)
def no_leaked_handles(request):
    """Every tensor, graph and optimizer handle a test makes is released by its end (collected
    garbage included). Session fixtures (the device) are made before the first count."""
    gc.collect()
    before = grilly.live_handles()
    yield
    gc.collect()
    after = grilly.live_handles()
    leaked = {k: after[k] - before[k] for k in after if after[k] > before[k]}
    assert not leaked, f"handles leaked by the test: {leaked}"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
