import pytest

from revgnn.datasets import synthetic_dataset


@pytest.fixture(scope="module")
def tiny_graph():
    return synthetic_dataset("arxiv", 200, 6.0, seed=0)
