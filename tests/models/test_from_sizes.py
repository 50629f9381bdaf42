import pytest
import torch

from revgnn.config import ModelConfig, PointModelConfig, build_model
from revgnn.models import DEQGNN, DeeperGCN, DeepGCN, RevGNN
from tests.helpers import random_graph

N, E, F_IN, OUT = 30, 120, 12, 3

NODE_CASES = [
    (RevGNN, "revgnn", {"num_layers": 3}),
    (RevGNN, "revgnn", {"num_layers": 2, "conv": "gen", "damping": 0.25, "dropout": 0.1}),
    (RevGNN, "wt-revgnn", {"num_layers": 4, "weight_tied": True}),
    (DeeperGCN, "deeper-gcn", {"num_layers": 3, "block": "res"}),
    (DEQGNN, "deq-gnn", {"num_layers": 3, "solver": "broyden", "warmup_epochs": 2}),
]


@pytest.mark.parametrize(("cls", "name", "settings"), NODE_CASES)
def test_a_node_model_called_with_sizes_is_the_model_build_model_makes(cls, name, settings):
    options = {k: v for k, v in settings.items() if k != "weight_tied"}
    torch.manual_seed(0)
    sized = cls(F_IN, 16, OUT, **settings)
    torch.manual_seed(0)
    built = build_model(ModelConfig(model=name, hidden_channels=16, **options), F_IN, OUT)
    assert type(sized) is cls
    assert repr(sized) == repr(built)
    a, b = sized.state_dict(), built.state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    x, edge_index = torch.randn(N, F_IN), random_graph(N, E)
    sized.eval(), built.eval()
    assert torch.equal(sized(x, edge_index), built(x, edge_index))
    # It trains as itself: its parameters are registered on it.
    sized.train()
    sized(x, edge_index).sum().backward()
    assert all(p.grad is not None for p in sized.parameters())


def test_sizes_by_keyword_equal_sizes_by_position_and_set_edge_dim_and_reversible():
    torch.manual_seed(0)
    a = RevGNN(F_IN, 16, OUT, num_layers=2, conv="gen", edge_dim=4, reversible=False)
    torch.manual_seed(0)
    b = RevGNN(in_channels=F_IN, hidden_channels=16, out_channels=OUT, num_layers=2, conv="gen",
               edge_dim=4, reversible=False)  # fmt: skip
    assert repr(a) == repr(b)
    assert "edge_dim=4" in repr(a) and "reversible=False" in repr(a)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    x, edge_index = torch.randn(N, F_IN), random_graph(N, E)
    assert a(x, edge_index, torch.randn(E, 4)).shape == (N, OUT)


def test_a_deepgcn_called_with_sizes_is_the_model_build_model_makes_and_its_repr_reads_so():
    settings = {"num_layers": 3, "task": "segmentation", "hidden_channels": 8, "emb_dims": 16,
                "k": 4, "knn_channels": 6}  # fmt: skip
    torch.manual_seed(0)
    sized = DeepGCN(6, 5, **settings)
    torch.manual_seed(0)
    built = build_model(PointModelConfig(model="deepgcn", **settings), 6, 5)
    assert repr(sized) == repr(built)
    assert repr(sized).startswith("DeepGCN(6, 5, num_layers=3, task='segmentation'")
    assert sized.knn_channels == 6
    points = torch.randn(2, 20, 6)
    sized.eval(), built.eval()
    assert torch.equal(sized(points), built(points))


def test_a_subclass_called_with_sizes_is_built_as_its_parent():
    class Mine(RevGNN):
        def forward(self, x, edge_index, edge_attr=None):
            return super().forward(x, edge_index, edge_attr).log_softmax(-1)

    torch.manual_seed(0)
    mine = Mine(F_IN, 16, OUT, num_layers=2)
    torch.manual_seed(0)
    plain = RevGNN(F_IN, 16, OUT, num_layers=2).eval()
    x, edge_index = torch.randn(N, F_IN), random_graph(N, E)
    assert torch.equal(mine.eval()(x, edge_index), plain(x, edge_index).log_softmax(-1))


def _parts():
    model = RevGNN(F_IN, 16, OUT, num_layers=2, conv="gen")
    return model.encoder, model.layers, model.head


def test_initial_residual_blocks_built_from_parts_need_initial():
    model = RevGNN(F_IN, 16, OUT, num_layers=2)  # GCNII
    with pytest.raises(ValueError, match=r"the blocks' GCNIIConv reads the initial embedding "
                       r"\(its x0\): pass initial=True"):  # fmt: skip
        RevGNN(model.encoder, model.layers, model.head)
    again = RevGNN(model.encoder, model.layers, model.head, initial=True)
    x, edge_index = torch.randn(N, F_IN), random_graph(N, E)
    assert again(x, edge_index).shape == (N, OUT)


def test_a_model_built_from_its_parts_is_unchanged():
    model = RevGNN(*_parts())
    assert model.num_layers == 2 and not model.zero_stream
    x, edge_index = torch.randn(N, F_IN), random_graph(N, E)
    assert model(x, edge_index).shape == (N, OUT)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: RevGNN(), "RevGNN is built from its parts (encoder, layers, head) or from its "
                           "sizes, RevGNN(in_channels, hidden_channels, out_channels"),
        (lambda: RevGNN(F_IN, 16), "RevGNN built from sizes needs out_channels"),
        (lambda: RevGNN(F_IN, 16.0, OUT), "RevGNN: hidden_channels=16.0 must be an int"),
        (lambda: RevGNN(in_channels=F_IN, hidden_channels=16, out_channels="7"),
         "RevGNN: out_channels='7' must be an int"),
        (lambda: DeepGCN(3, 4, edge_dim=2), "DeepGCN got unexpected settings edge_dim"),
        (lambda: RevGNN(F_IN, 16, OUT, hidden_channels=8), "got two values for hidden_channels"),
        (lambda: RevGNN(F_IN, 16, OUT, solver="anderson"),
         "RevGNN got unexpected settings solver; model='revgnn' takes num_layers, num_groups"),
        (lambda: RevGNN(F_IN, 16, OUT, zero_stream=True),
         "not zero_stream (an argument of the model built from parts): use stream_init='zero'"),
        (lambda: DeeperGCN(F_IN, 16, OUT, reversible=False),
         "DeeperGCN got unexpected settings reversible"),
        (lambda: DeepGCN(3, 4, 5), "DeepGCN built from sizes takes 2 positional sizes"),
        (lambda: RevGNN(*_parts(), weight_tied=True),
         "built from parts, tie the layers with layers=ReversibleSequential.weight_tied("),
        (lambda: RevGNN(*_parts(), norm="layer"), "RevGNN is built from its parts (encoder, "
                                                  "layers, head) or from its sizes"),
        (lambda: DEQGNN(F_IN, 16, OUT, num_groups=3), "num_groups=3 must divide"),
    ],
)  # fmt: skip
def test_a_wrong_sized_call_says_what_to_pass(call, message):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    assert message in str(info.value)
