import pytest
import torch

from revgnn.config import DataConfig
from revgnn.datasets.tolokers import load_tolokers


def test_each_of_the_ten_given_splits(root):
    a = load_tolokers("tolokers", root, DataConfig(), split_index=0)
    b = load_tolokers("tolokers", root, DataConfig(), split_index=3)
    assert not torch.equal(a.split["train"], b.split["train"])
    assert "given split 3 of 10" in b.split_info and a.task == "multilabel"
    with pytest.raises(ValueError, match=r"split_index=10 must lie in \[0, 10\)"):
        load_tolokers("tolokers", root, DataConfig(), split_index=10)
