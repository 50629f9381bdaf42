"""Output files checked before any work starts: never a lost run, never a silent overwrite."""

from __future__ import annotations

import os
import os.path as osp
import tempfile

__all__ = ["check_output", "check_output_dir", "write_atomic"]


def check_output(path: str, flag: str, overwrite: bool = False) -> None:
    """Refuse an output file that cannot be written, or that exists (unless ``overwrite``),
    naming the flag that set it: said before training, not after it."""
    if osp.isdir(path):
        raise IsADirectoryError(f"{flag} {path} is a folder: give a file path")
    if osp.exists(path) and not overwrite:
        raise FileExistsError(
            f"{flag} {path} exists: pass --overwrite to replace it, or choose another path"
        )
    folder = osp.dirname(osp.abspath(path)) or "."
    probe = folder
    while not osp.exists(probe):  # the first existing ancestor must let us create the rest
        probe = osp.dirname(probe)
    if not osp.isdir(probe):
        raise NotADirectoryError(f"{flag} {path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK) or (
        osp.exists(path) and not os.access(path, os.W_OK)
    ):
        raise PermissionError(
            f"{flag} {path}: {probe if not osp.exists(path) else path} is not writable"
        )
    if probe == folder:
        _probe_write(folder, f"{flag} {path}")


def _probe_write(folder: str, what: str) -> None:
    # Permission bits do not tell everything (root, read-only or virtual file systems such as
    # /proc): create and remove a file where the output will go.
    try:
        fd, tmp = tempfile.mkstemp(prefix=".revgnn-probe.", dir=folder)
    except OSError as e:
        raise PermissionError(f"{what}: cannot create a file in {folder} ({e.strerror})") from e
    os.close(fd)
    os.unlink(tmp)


def check_output_dir(path: str, flag: str) -> None:
    """Refuse an output folder that is a file or cannot be created or written."""
    if osp.exists(path) and not osp.isdir(path):
        raise NotADirectoryError(f"{flag} {path} is a file, not a folder")
    probe = path
    while not osp.exists(probe):
        probe = osp.dirname(osp.abspath(probe))
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(f"{flag} {path}: {probe} is not writable")
    _probe_write(probe, f"{flag} {path}")


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, renamed over
    it: a kill leaves the old file or the new one, and no temporary file behind. The file gets
    the permissions of the one it replaces, or those of a file created as usual (0666 less
    the umask), not the temporary file's private 0600."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    mode = os.stat(path).st_mode & 0o7777 if osp.exists(path) else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{osp.basename(path)}.", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    # Read by setting it: the process's umask has no getter (restored at once).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
