import pytest
import torch

from revgnn.nas.eval_network import EvalNetwork
from revgnn.nas.genotype import Genotype, plot_cell

NODES = (
    (("edge_conv", 0), ("point_gin", 1)),
    (("skip_connect", 1), ("mr_conv", 2)),
    (("point_sage", 0), ("rel_sage", 3)),
)


def test_json_round_trip_gives_the_same_genotype_and_the_same_network(tmp_path):
    g = Genotype(NODES, {"method": "sgas"})
    g.save(tmp_path / "g.json")
    back = Genotype.load(tmp_path / "g.json")
    assert back == g and back.meta == {"method": "sgas"}
    torch.manual_seed(0)
    a = EvalNetwork(g, 3, 4, channels=4, num_cells=2, k=4, emb_dims=8).eval()
    torch.manual_seed(0)
    b = EvalNetwork(back, 3, 4, channels=4, num_cells=2, k=4, emb_dims=8).eval()
    x = torch.randn(2, 16, 3)
    assert torch.equal(a(x), b(x))
    assert [type(m) for m in a.modules()] == [type(m) for m in b.modules()]


def test_a_genotype_file_with_sgas_operation_names_loads_as_the_point_convs():
    text = (
        Genotype(NODES).to_json().replace('"point_gin"', '"gin"').replace('"point_sage"', '"sage"')
    )
    assert '"gin"' in text and '"sage"' in text
    assert Genotype.from_json(text) == Genotype(NODES)


def test_selection_and_from_selection_are_inverse():
    g = Genotype(NODES)
    sel = g.selection()
    assert int((sel > 0).sum()) == 6 and Genotype.from_selection(sel) == g
    with pytest.raises(ValueError, match="left edges undecided"):
        Genotype.from_selection(torch.full((9,), -1))


def test_invalid_genotypes_are_refused():
    with pytest.raises(ValueError, match="'none' is not an operation"):
        Genotype(((("none", 0),), (), ()))
    with pytest.raises(ValueError, match="node 0 cannot read state 2"):
        Genotype(((("point_gin", 2),), (), ()))
    with pytest.raises(ValueError, match="a genotype has 3 nodes"):
        Genotype(((("point_gin", 0),),))


def test_the_cell_plot_is_written(tmp_path):
    plot_cell(Genotype(NODES), tmp_path / "cell.png")
    assert (tmp_path / "cell.png").read_bytes()[:4] == b"\x89PNG"
