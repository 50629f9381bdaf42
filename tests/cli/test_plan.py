import json

from revgnn.cli import main


def test_plan_command_prints_and_writes_json(tmp_path, capsys):
    out = tmp_path / "plan.json"
    argv = [
        "plan", "--memory", "2GB", "--nodes", "2000", "--edges", "40000",
        "--in-channels", "8", "--out-channels", "112", "--edge-dim", "8",
        # Kinds in any spelling (the planner's deepergcn is revgnn train's deeper-gcn).
        "--kinds", "revgnn,WT_RevGNN,deeper-gcn", "--widths", "32,64", "--json", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "RevGNN" in text and "DeeperGCN res+" in text and "widest at L=112" in text
    result = json.loads(out.read_text())
    rows = {r["kind"]: r for r in result["rows"]}
    assert rows["wt-revgnn"]["deepest"]["32"] is None  # any depth
    assert rows["revgnn"]["deepest"]["64"] > rows["deepergcn"]["deepest"]["64"] > 0


def test_plan_command_needs_the_graph(capsys):
    assert main(["plan", "--memory", "2GB", "--nodes", "100"]) == 2
    err = capsys.readouterr().err
    assert "give --edges, --in-channels, --out-channels, --edge-dim" in err
    assert "--edge-dim none: a graph without edge features" in err
    graph = ["--edges", "4000", "--in-channels", "8", "--out-channels", "4", "--edge-dim", "8"]
    assert main(["plan", "--memory", "2GB", "--nodes", "100", *graph[2:]]) == 2
    assert capsys.readouterr().err.endswith("give --edges\n")


def test_a_budget_needs_a_unit_and_the_peers_rss_growth_is_flagged(capsys):
    graph = ["--nodes", "2000", "--edges", "40000", "--in-channels", "8", "--out-channels", "8"]
    graph += ["--edge-dim", "none"]
    assert main(["plan", "--memory", "16", *graph]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "revgnn plan: error: --memory='16' is not a size; a unit is required, e.g. 16GB or "
        "16GiB; write e.g. 16GB, 16GiB, 500MB or 1e9B"
    )
    assert main(["plan", "--memory", "4GiB", *graph, "--kinds", "revgnn,pyg-groupaddrev"]) == 0
    out = capsys.readouterr().out
    assert "PyG GroupAddRev †" in out and "peak of live tensors of one training step" in out
    assert "† PyG GroupAddRev: live tensors only: PyG GroupAddRev's process memory (RSS)" in out


def test_a_repeated_calibration_replaces_its_own_note():
    from revgnn.cli.plan import merge_notes

    def how(kinds, worst):
        return (f"Measured on 2026-12-04 by `revgnn plan --calibrate` (--kinds {kinds} "
                f"--calibrate-aggrs max) on Linux: worst {worst}.")  # fmt: skip

    base = "Measured on 2026-12-01 on this machine by `revgnn plan --calibrate` over all kinds."
    first = merge_notes(base, "revgat", how("revgat", "7%"))
    second = merge_notes(first, "revgnn-gcnii", how("revgnn-gcnii", "5%"))
    again = merge_notes(second, "revgat", how("revgat", "6%"))
    assert again == " ".join([base, how("revgnn-gcnii", "5%"), how("revgat", "6%")])


def test_a_graph_too_large_for_every_listed_width_gets_the_parts_it_would_train_on(
    tmp_path, capsys
):
    out = tmp_path / "plan.json"
    graph = ["--nodes", "132534", "--edges", "79122504", "--in-channels", "8",
             "--out-channels", "112", "--edge-dim", "8"]  # fmt: skip
    argv = ["plan", "--memory", "16GB", *graph, "--kinds", "deeper-gcn", "--json", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    row = json.loads(out.read_text())["rows"][0]
    width, parts = row["parts_at_depth"]
    assert width == 32 and parts > 1
    assert f"none fits; D=32 fits on --parts {parts}" in text
    assert "revgnn train --partition metis --parts P" in text
    # A graph that fits gets no hint.
    assert main(["plan", "--memory", "16GB", *graph[:1], "2000", *graph[2:3], "40000",
                 *graph[4:], "--kinds", "deeper-gcn"]) == 0  # fmt: skip
    assert "--parts" not in capsys.readouterr().out
