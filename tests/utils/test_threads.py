import pytest
import torch

from revgnn.cli import main
from revgnn.utils.threads import torch_threads, usable_cores


def test_threads_are_set_inside_and_restored_after_an_error():
    before = torch.get_num_threads()
    with torch_threads(0):
        assert torch.get_num_threads() == before  # torch's choice: unchanged
    seen = []

    def work():
        with torch_threads(1):
            seen.append(torch.get_num_threads())
            raise RuntimeError("inside")

    with pytest.raises(RuntimeError, match="inside"):
        work()
    assert seen == [1]
    assert torch.get_num_threads() == before


def test_more_threads_than_cores_is_refused_with_the_number_to_use():
    cores = usable_cores()
    assert cores >= 1
    with torch_threads(cores):
        pass
    too_many = torch_threads(cores + 1)
    with pytest.raises(ValueError, match=f"threads={cores + 1} is more than the {cores} CPU cores"):
        too_many.__enter__()


@pytest.mark.parametrize("command", ["train", "search"])
def test_the_commands_refuse_too_many_threads_before_loading_data(command, capsys):
    # The dataset does not exist: the threads are refused first, before anything is read.
    assert main([command, "--dataset", "missing.pt", "--threads", "100000"]) == 2
    err = capsys.readouterr().err
    assert f"revgnn {command}: error: threads=100000 is more than the" in err
    assert f"use {usable_cores()} or fewer, or 0 for torch's choice" in err
