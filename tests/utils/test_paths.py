import os

import pytest

from revgnn.utils.paths import check_output, check_output_dir, write_atomic


def test_check_output_refuses_folders_existing_files_and_file_parents(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(IsADirectoryError, match=r"--json .* is a folder"):
        check_output(str(tmp_path), "--json")
    with pytest.raises(FileExistsError, match=r"--json .*f exists: pass --overwrite"):
        check_output(str(tmp_path / "f"), "--json")
    check_output(str(tmp_path / "f"), "--json", overwrite=True)
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        check_output(str(tmp_path / "f" / "out.json"), "--json")
    check_output(str(tmp_path / "new" / "deeper" / "out.json"), "--json")
    with pytest.raises(NotADirectoryError, match=r"--out .* is a file"):
        check_output_dir(str(tmp_path / "f"), "--out")


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "r.json"
    write_atomic(str(path), "{}")
    write_atomic(str(path), '{"a": 1}')
    assert path.read_text() == '{"a": 1}' and os.listdir(path.parent) == ["r.json"]


def test_an_output_in_a_folder_that_refuses_files_is_refused_before_any_work(tmp_path):
    # /proc accepts no new files even for root, whose permission bits say yes.
    with pytest.raises(
        PermissionError, match=r"--json /proc/x.json: cannot create a file in /proc"
    ):
        check_output("/proc/x.json", "--json")
    check_output(str(tmp_path / "x.json"), "--json")
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind


def test_write_atomic_gives_a_new_file_the_umask_s_permissions_and_keeps_an_old_one_s(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "r.json"
        write_atomic(str(path), "{}")
        assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600
        path.chmod(0o640)
        write_atomic(str(path), "[]")
        assert path.stat().st_mode & 0o777 == 0o640 and path.read_text() == "[]"
    finally:
        os.umask(old)
