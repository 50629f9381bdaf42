"""Tiny point-cloud datasets written in each loader's own on-disk layout (no download)."""

import json
import os

import numpy as np

MODELNET10 = [
    "bathtub", "bed", "chair", "desk", "dresser", "monitor", "night_stand", "sofa", "table",
    "toilet",
]  # fmt: skip


def write_modelnet(folder, per_class=(3, 1)):
    """``folder/raw/<class>/{train,test}/<class>_NNNN.off``: one random tetrahedron each."""
    rng = np.random.default_rng(0)
    for c in MODELNET10:
        for split, count in zip(("train", "test"), per_class):
            d = os.path.join(folder, "raw", c, split)
            os.makedirs(d, exist_ok=True)
            for i in range(count):
                v = rng.normal(size=(4, 3))
                lines = ["OFF", "4 4 0", *(" ".join(f"{a:.5f}" for a in p) for p in v)]
                lines += ["3 0 1 2", "3 0 1 3", "3 0 2 3", "3 1 2 3"]
                with open(os.path.join(d, f"{c}_{i + 1:04d}.off"), "w") as f:
                    f.write("\n".join(lines) + "\n")


def write_modelnet_h5(folder, classes=40, clouds=(3, 2), points=2048, listed=True):
    """``folder/modelnet40_ply_hdf5_2048/``: ``ply_data_{train,test}{0,1}.h5`` (``data``
    float32 [B, points, 3] in the unit sphere, ``label`` uint8 [B, 1]), the file lists the
    reference reads (``data/modelnet40_ply_hdf5_2048/...`` paths) and ``shape_names.txt``.
    ``clouds[s]`` clouds per file of split s; labels cycle through the classes."""
    import h5py

    d = os.path.join(folder, "modelnet40_ply_hdf5_2048")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(0)
    label = 0
    for split, count in zip(("train", "test"), clouds):
        names = []
        for i in range(2):
            x = rng.normal(size=(count, points, 3))
            x /= np.linalg.norm(x, axis=-1).max(axis=1)[:, None, None]
            y = (label + np.arange(count)) % classes
            label += count
            name = f"ply_data_{split}{i}.h5"
            with h5py.File(os.path.join(d, name), "w") as f:
                f["data"] = x.astype(np.float32)
                f["label"] = y.astype(np.uint8).reshape(-1, 1)
            names.append(f"data/modelnet40_ply_hdf5_2048/{name}")
        if listed:
            with open(os.path.join(d, f"{split}_files.txt"), "w") as f:
                f.write("\n".join(names) + "\n")
    with open(os.path.join(d, "shape_names.txt"), "w") as f:
        f.write("\n".join(f"class{c}" for c in range(classes)) + "\n")
    return d


def write_s3dis(folder, blocks=8, points=64, rooms=None):
    """``folder/raw/{all_files.txt, room_filelist.txt, ply_data_all_{0,1}.h5}`` (the blocks
    split over two files); by default blocks 0 and 1 lie in Area_5 and the others in three
    rooms of Area_1 (two blocks each)."""
    import h5py

    raw = os.path.join(folder, "raw")
    os.makedirs(raw, exist_ok=True)
    rng = np.random.default_rng(0)
    data = rng.random((blocks, points, 9)).astype(np.float32) * 3
    label = rng.integers(0, 13, (blocks, points)).astype(np.uint8)
    half = blocks // 2
    names = []
    for i, part in enumerate((slice(0, half), slice(half, blocks))):
        with h5py.File(os.path.join(raw, f"ply_data_all_{i}.h5"), "w") as f:
            f["data"] = data[part]
            f["label"] = label[part]
        names.append(f"indoor3d_sem_seg_hdf5_data/ply_data_all_{i}.h5")
    with open(os.path.join(raw, "all_files.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    if rooms is None:
        rooms = [
            f"Area_5_office_{i}" if i < 2 else f"Area_1_office_{i // 2}" for i in range(blocks)
        ]
    with open(os.path.join(raw, "room_filelist.txt"), "w") as f:
        f.write("\n".join(rooms) + "\n")
    return data, label


SHAPENET = {"Airplane": "02691156", "Mug": "03797390"}
SYNSETS = [
    "02691156", "02773838", "02954340", "02958343", "03001627", "03261776", "03467517",
    "03624134", "03636649", "03642806", "03790512", "03797390", "03948459", "04099429",
    "04225987", "04379243",
]  # fmt: skip


def write_shapenet(folder, points=(40, 70)):
    """``folder/raw/<synset>/<id>.txt`` for Airplane (parts 0-3) and Mug (36-37), and the
    split lists; every other synset folder exists, empty."""
    raw = os.path.join(folder, "raw")
    rng = np.random.default_rng(0)
    for s in SYNSETS:
        os.makedirs(os.path.join(raw, s), exist_ok=True)
    lists = {"train": [], "val": [], "test": []}
    parts = {"02691156": (0, 4), "03797390": (36, 38)}
    for synset, (lo, hi) in parts.items():
        for i, split in enumerate(["train", "train", "train", "val", "test"]):
            n = points[i % 2]
            rows = np.concatenate([rng.normal(size=(n, 6)), rng.integers(lo, hi, (n, 1))], axis=1)
            np.savetxt(os.path.join(raw, synset, f"s{i}.txt"), rows, fmt="%.5f")
            lists[split].append(f"shape_data/{synset}/s{i}")
    os.makedirs(os.path.join(raw, "train_test_split"), exist_ok=True)
    for split, names in lists.items():
        path = os.path.join(raw, "train_test_split", f"shuffled_{split}_file_list.json")
        with open(path, "w") as f:
            json.dump(names, f)


def write_partnet(folder, category="Chair", level=3, points=64):
    """``folder/sem_seg_h5/<Category>-<level>/{train,val,test}-00.h5``."""
    import h5py

    d = os.path.join(folder, "sem_seg_h5", f"{category}-{level}")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, count in (("train", 6), ("val", 2), ("test", 2)):
        with h5py.File(os.path.join(d, f"{split}-00.h5"), "w") as f:
            f["data"] = rng.normal(size=(count, points, 3)).astype(np.float32)
            f["label_seg"] = rng.integers(0, 5, (count, points)).astype(np.int64)


def write_ppi(folder, nodes=12, features=50, labels=121):
    """``folder/raw/{train,valid,test}_{feats.npy, graph_id.npy, graph.json, labels.npy}``:
    two ring graphs per split."""
    import networkx as nx
    from networkx.readwrite import json_graph

    raw = os.path.join(folder, "raw")
    os.makedirs(raw, exist_ok=True)
    rng = np.random.default_rng(0)
    for split in ("train", "valid", "test"):
        g = nx.DiGraph()
        g.add_nodes_from(range(2 * nodes))
        for part in range(2):
            for i in range(nodes):
                a, b = part * nodes + i, part * nodes + (i + 1) % nodes
                g.add_edge(a, b)
                g.add_edge(b, a)
        with open(os.path.join(raw, f"{split}_graph.json"), "w") as f:
            json.dump(json_graph.node_link_data(g, edges="links"), f)
        np.save(os.path.join(raw, f"{split}_feats.npy"), rng.normal(size=(2 * nodes, features)))
        np.save(os.path.join(raw, f"{split}_graph_id.npy"), np.repeat([1, 2], nodes))
        np.save(os.path.join(raw, f"{split}_labels.npy"), rng.integers(0, 2, (2 * nodes, labels)))
