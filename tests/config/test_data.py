import pytest

from revgnn.config import DataConfig


def test_the_partition_decides_which_batching_settings_are_used():
    unused = DataConfig().unused()
    assert unused["num_parts"].startswith("--partition full") and "eval_views" in unused
    assert DataConfig(partition="random", num_parts=4, eval_parts=2).unused() == {}


def test_values_are_checked():
    with pytest.raises(ValueError, match="partition='leiden' must be one of full, random, metis"):
        DataConfig(partition="leiden")
    with pytest.raises(ValueError, match=r"test_area=7 must lie in \[1, 6\]"):
        DataConfig(test_area=7)
    with pytest.raises(ValueError, match="num_parts=0 must be at least 1"):
        DataConfig(num_parts=0)
