"""Shared fixtures: the default device, and a check that the device's validation layer stayed quiet."""

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


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
