"""Tiny copies of the real datasets, written in each dataset's own format (no download)."""

import pytest

from tests.datasets.node_fakes import write_node_datasets


@pytest.fixture(scope="session")
def root(tmp_path_factory):
    return write_node_datasets(tmp_path_factory.mktemp("data"))
