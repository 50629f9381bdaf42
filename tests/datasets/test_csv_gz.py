import gzip

import numpy as np
import pandas as pd
import pytest

from revgnn.datasets.csv_gz import csv_bytes, write_csv_gz


def test_integers_are_written_without_padding():
    table = np.array([[0, 5, 1234567], [10, 0, 99], [-3, 7, 0]])
    assert csv_bytes(table) == b"0,5,1234567\n10,0,99\n-3,7,0\n"


def test_floats_are_rounded_to_the_decimals_and_signed():
    table = np.array([[0.0, -0.00004, -1.23456, 12.5], [1.0, 0.001, -0.5, 3.14159]])
    assert csv_bytes(table, 4) == b"0.0000,0.0000,-1.2346,12.5000\n1.0000,0.0010,-0.5000,3.1416\n"


def test_gzip_file_reads_back_with_pandas_as_ogb_reads_it(tmp_path):
    rng = np.random.default_rng(0)
    floats = rng.standard_normal((3000, 7)).astype(np.float32) * 20
    ints = rng.integers(0, 2_500_000, (3000, 2))
    write_csv_gz(str(tmp_path / "f.csv.gz"), floats, decimals=3)
    write_csv_gz(str(tmp_path / "i.csv.gz"), ints)
    back = pd.read_csv(tmp_path / "f.csv.gz", compression="gzip", header=None).values
    np.testing.assert_allclose(back, np.round(floats.astype(np.float64), 3), rtol=0, atol=1e-9)
    back = pd.read_csv(tmp_path / "i.csv.gz", compression="gzip", header=None).values
    assert np.array_equal(back, ints)


def test_blocks_join_into_one_table(tmp_path, monkeypatch):
    monkeypatch.setattr("revgnn.datasets.csv_gz._ROWS_PER_BLOCK", 7)
    table = np.arange(100).reshape(50, 2)
    write_csv_gz(str(tmp_path / "t.csv.gz"), table)
    with gzip.open(tmp_path / "t.csv.gz") as f:
        assert f.read() == csv_bytes(table)


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match=r"shape \(3,\); it must be 2-d"):
        csv_bytes(np.arange(3))
    with pytest.raises(ValueError, match="dtype float64; give decimals="):
        csv_bytes(np.zeros((2, 2)))
