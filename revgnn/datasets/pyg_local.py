"""PyG's dataset classes, reading a local folder and downloading only when asked.

PyG downloads whenever its raw files are missing; in a job without network access that hangs
or fails deep inside ``urllib``. :func:`pyg_local` builds the dataset so that missing raw
files are instead a ``FileNotFoundError`` naming the folder, the files PyG looks for and the
flag that downloads them.
"""

from __future__ import annotations

import os.path as osp
from typing import Any

__all__ = ["pyg_local"]


def pyg_local(cls: type, root: str, download: bool, layout: str, **kwargs: Any) -> Any:
    """``cls(root, **kwargs)``, refusing to download unless ``download``.

    Args:
        cls (type): A ``torch_geometric.data.Dataset`` subclass (``S3DIS``, ``ModelNet``, ...).
        root (str): Its folder (``raw/`` and ``processed/`` inside).
        download (bool): Allow PyG to download the raw files.
        layout (str): The raw layout, for the message.
    """
    if download:
        return cls(root, **kwargs)

    def refuse(self: Any) -> None:
        missing = [p for p in self.raw_paths if not osp.exists(p)]
        shown = ", ".join(osp.relpath(p, self.raw_dir) for p in missing[:4])
        more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        raise FileNotFoundError(
            f"{cls.__name__}: {self.raw_dir} lacks {shown}{more} (expected layout: {layout}); "
            "put the dataset there, or pass --download (download=True) to fetch it"
        )

    local = type(cls.__name__, (cls,), {"download": refuse, "__module__": cls.__module__})
    return local(root, **kwargs)
