import pytest

from revgnn.utils import format_bytes, parse_bytes


@pytest.mark.parametrize(
    ("text", "expected"),
    [("16GB", 16 * 10**9), ("16GiB", 16 * 2**30), ("16G", 16 * 2**30), ("2.5 MB", 2_500_000),
     ("1e9B", 10**9), (4096, 4096)],
)  # fmt: skip
def test_sizes_with_units(text, expected):
    assert parse_bytes(text) == expected


def test_a_size_without_a_unit_or_with_a_wrong_one_is_refused():
    with pytest.raises(
        ValueError, match=r"--memory='16' is not a size; a unit is required, e\.g\. 16GB"
    ):
        parse_bytes("16", "--memory")
    with pytest.raises(ValueError, match="memory='16 bananas' is not a size"):
        parse_bytes("16 bananas")
    assert format_bytes(3 * 2**30) == "3.00 GiB" and format_bytes(512) == "512 B"
