"""Fixtures shared by trainer tests (``pytestmark`` of the modules that want it asks for
``one_thread``; nothing here is autouse, so the other trainer tests are left alone)."""

import pytest
import torch

from tests.trainers.sketch_pairs import write_pairs


@pytest.fixture
def one_thread():
    """One intra-op thread: the networks here are tiny, and on a busy machine a second thread waits
    more than it works (measured: 24 iterations in 3 s instead of 40 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return write_pairs(tmp_path_factory.mktemp("pairs"), 6)
