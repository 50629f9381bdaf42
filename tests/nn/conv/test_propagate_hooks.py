import pytest
import torch
from torch_geometric.explain import Explainer, GNNExplainer
from torch_geometric.explain.algorithm.utils import clear_masks, set_masks
from torch_geometric.nn import GATConv, GCN2Conv, GCNConv
from torch_geometric.nn import GENConv as PygGENConv

from revgnn import GENConv, build_model
from revgnn.config import ModelConfig
from revgnn.nn.conv import pyg_convs
from revgnn.nn.conv.gat_conv import LeanGATConv
from revgnn.nn.conv.propagate_hooks import PROPAGATE_HOOKS, explaining, needs_propagate
from tests.helpers import rel_err

N, E, C = 30, 120, 6


def graph(dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, C, generator=g, dtype=dtype)
    edge_index = torch.randint(0, N, (2, E), generator=g)
    edge_index[:, :4] = torch.arange(4).repeat(2, 1)  # self-loops in the input
    edge_index[:, 4] = edge_index[:, 5]  # and a duplicate edge
    return x, edge_index


def pair(name):
    """(revgnn's conv, PyG's class with the same parameters, how each is called)."""
    torch.manual_seed(0)
    if name == "gen":
        ours = GENConv(C, C, "softmax", learn_t=True)
        theirs = PygGENConv(C, C, aggr="softmax", learn_t=True, bias=True)
        theirs.load_state_dict(ours.state_dict())
        return ours, theirs, lambda conv, x, ei: conv(x, ei)
    if name == "gat":
        ours, theirs = LeanGATConv(C, 3, heads=2), GATConv(C, 3, heads=2)
        theirs.load_state_dict(ours.state_dict())
        return ours, theirs, lambda conv, x, ei: conv(x, ei)

    # GCN's models share one normalisation, prepared per edge while explained; PyG's class
    # normalises inside the call.
    def prepared(conv, x, ei):
        if conv.normalize:
            return conv(x, ei) if name == "gcn" else conv(x, x, ei)
        ei, extra = pyg_convs.gcn_prepare(ei, N, x.dtype, per_edge=True)
        return conv(x, ei, **extra) if name == "gcn" else conv(x, x, ei, **extra)

    if name == "gcn":
        ours, theirs = pyg_convs.GCNConv(C, C, normalize=False), GCNConv(C, C)
    else:
        ours = pyg_convs.GCN2Conv(C, 0.1, 0.5, 2, normalize=False)
        theirs = GCN2Conv(C, 0.1, 0.5, 2)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs, prepared


def explained(conv, call, x, edge_index, mask):
    mask = torch.nn.Parameter(mask.clone())
    set_masks(conv, mask, edge_index, apply_sigmoid=True)
    out = call(conv, x, edge_index)
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    clear_masks(conv)
    return out.detach(), mask.grad


@pytest.mark.parametrize("name", ["gen", "gat", "gcn", "gcnii"])
def test_explained_convs_equal_pyg_s_explained_classes(name):
    # Each mask entry scales its own edge's messages, as in PyG's class: revgnn's fast paths
    # (lean aggregation, blocked attention, the CSR product) give way to propagate.
    ours, theirs, call = pair(name)
    x, edge_index = graph()
    mask = torch.randn(E, generator=torch.Generator().manual_seed(1))
    out, grad = explained(ours, call, x, edge_index, mask)
    ref_out, ref_grad = explained(theirs, call, x, edge_index, mask)
    assert rel_err(out, ref_out) <= 1e-6
    assert grad.abs().sum() > 0 and rel_err(grad, ref_grad) <= 1e-5
    assert not explaining(ours)  # cleared


@pytest.mark.parametrize("name", ["gat", "gcn", "gcnii"])
def test_subclasses_of_pyg_convs_apply_masks_whichever_class_was_built_first(name):
    # PyG kept a subclass's propagate generated from its parent's template (no explain masks)
    # when the parent was built first. A fresh subclass, built after both, must still
    # propagate with the masks, as must a user's subclass of ours.
    ours, theirs, call = pair(name)
    x, edge_index = graph()
    call(theirs, x, edge_index), call(ours, x, edge_index)  # both classes' templates made
    args = {
        "gat": ((C, 3), {"heads": 2}),
        "gcn": ((C, C), {"normalize": False}),
        "gcnii": ((C, 0.1, 0.5, 2), {"normalize": False}),
    }[name]
    sub = type("Fresh", (type(ours),), {})(*args[0], **args[1])
    sub.load_state_dict(ours.state_dict())
    mask = torch.randn(E, generator=torch.Generator().manual_seed(1))
    out, grad = explained(ours, call, x, edge_index, mask)
    sub_out, sub_grad = explained(sub, call, x, edge_index, mask)
    assert grad is not None and sub_grad is not None
    assert rel_err(sub_out, out) <= 1e-6 and rel_err(sub_grad, grad) <= 1e-6


@pytest.mark.parametrize("name", ["gen", "gat"])
def test_a_hook_on_a_step_of_propagate_runs_on_the_lean_path(name):
    ours, _, call = pair(name)
    x, edge_index = graph()
    expected = call(ours, x, edge_index)
    seen = []
    ours.register_message_forward_hook(lambda module, inputs, out: seen.append(out.size(0)))
    assert rel_err(call(ours, x, edge_index), expected) <= 1e-6
    assert len(seen) == 1 and seen[0] >= E


def test_needs_propagate_names_every_reason():
    conv = GENConv(C, C)
    assert not needs_propagate(conv)
    conv.explain = True
    assert needs_propagate(conv)
    conv.explain = None
    conv.decomposed_layers = 2
    assert needs_propagate(conv)
    conv.decomposed_layers = 1
    for name in PROPAGATE_HOOKS:
        getattr(conv, name)[0] = lambda *args: None
        assert needs_propagate(conv), name
        getattr(conv, name).clear()
    assert not needs_propagate(conv)


MODELS = [
    {"model": "revgnn"},
    {"model": "revgnn", "conv": "gen"},
    {"model": "revgnn", "conv": "gat"},
    {"model": "revgnn", "conv": "gcn"},
    {"model": "revgnn", "conv": "sage"},
    {"model": "wt-revgnn"},
    {"model": "deeper-gcn"},
    {"model": "deq-gnn"},
]


@pytest.mark.parametrize("options", MODELS, ids=lambda o: "-".join(o.values()))
def test_explained_models_keep_each_mask_on_its_own_edge(options):
    # Listing the edges in another order, masks alongside, permutes the mask's gradient and
    # changes nothing else: a model being explained neither sorts its edges nor merges them
    # into a CSR adjacency. A reversible model's mask gradient is the plain run's.
    torch.manual_seed(0)
    model = build_model(ModelConfig(num_layers=4, **options), C, 3).double().eval()
    x, edge_index = graph(torch.float64)
    mask = torch.randn(E, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    perm = torch.randperm(E, generator=torch.Generator().manual_seed(2))

    def call(m, x, ei):
        assert explaining(model)
        return m(x, ei)

    out, grad = explained(model, call, x, edge_index, mask)
    out_p, grad_p = explained(model, call, x, edge_index[:, perm], mask[perm])
    assert grad.abs().sum() > 0
    assert rel_err(out_p, out) <= 1e-12 and rel_err(grad_p, grad[perm]) <= 1e-10
    if options["model"] != "deeper-gcn":
        model.reversible = False
        out_plain, grad_plain = explained(model, call, x, edge_index, mask)
        assert rel_err(out_plain, out) <= 1e-10 and rel_err(grad_plain, grad) <= 1e-10


def test_pyg_s_explainer_explains_the_default_model():
    # Before, GCN's shared CSR normalisation failed PyG's explain_message assertion.
    torch.manual_seed(0)
    model = build_model(ModelConfig(num_layers=4), C, 3).eval()
    x, edge_index = graph()
    explainer = Explainer(
        model,
        GNNExplainer(epochs=3),
        explanation_type="model",
        node_mask_type="attributes",
        edge_mask_type="object",
        model_config={
            "mode": "multiclass_classification",
            "task_level": "node",
            "return_type": "raw",
        },
    )
    explanation = explainer(x, edge_index, index=3)
    assert explanation.edge_mask.shape == (E,) and explanation.edge_mask.max() > 0
    assert not explaining(model)
    assert torch.equal(model(x, edge_index), model(x, edge_index))  # masks gone
