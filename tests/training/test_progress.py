from revgnn.training import TrainConfig, seed_everything, train
from tests.helpers import rev_gnn


def test_without_the_bar_each_evaluation_prints_a_line(tiny_graph, capsys):
    seed_everything(0)
    model = rev_gnn(tiny_graph.num_features, 8, tiny_graph.num_classes, 2)
    train(model, tiny_graph, TrainConfig(epochs=4, eval_every=2, progress=False))
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "| epoch" in ln]
    assert [ln.split("|")[1].strip() for ln in lines] == ["epoch 2/4", "epoch 4/4"]


def test_the_bar_counts_epochs_on_stderr(tiny_graph, capsys):
    seed_everything(0)
    model = rev_gnn(tiny_graph.num_features, 8, tiny_graph.num_classes, 2)
    train(model, tiny_graph, TrainConfig(epochs=2, progress=True))
    err = capsys.readouterr().err
    assert "2/2" in err and "best_test_acc" in err
