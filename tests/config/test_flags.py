import argparse
import re

import pytest
import torch

from revgnn import build_model
from revgnn.cli import train as train_cli
from revgnn.cli.errors import ArgumentParser
from revgnn.config import ModelConfig, OptimConfig, Recipe, RunConfig, settings_of
from revgnn.config.data import DataConfig
from revgnn.config.flags import conv_option_flags, flag_names, given, recipe_from_args
from revgnn.models import MODELS
from revgnn.nn.conv import CONVS, conv_resolver
from revgnn.training.experiment import prepare


def parse(*argv: str) -> argparse.Namespace:
    parser = ArgumentParser(prog="revgnn train")
    train_cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_every_field_and_every_conv_option_is_a_flag():
    flags = flag_names(parse())
    for section, cls in train_cli.SECTIONS.items():
        for s in settings_of(cls):
            if s.cli:
                assert f"{section}.{s.name}" in flags, (section, s.name)
    for name in CONVS.names():
        for option in conv_resolver(name).options:
            if option not in ("norm", "layer", "normalize", "aggr_kwargs"):
                assert f"model.conv_options.{option}" in flags, (name, option)
    assert flags["model.hidden_channels"] == "--hidden" and flags["data.num_parts"] == "--parts"
    assert set(conv_option_flags()["heads"]["convs"]) == {"gat"}


NODE_MODELS = [n for n in MODELS.names() if MODELS.entry(n).info["family"] == "node"]


@pytest.mark.parametrize("name", NODE_MODELS)
def test_one_default_per_setting_the_cli_with_no_flags_is_the_library(name):
    # revgnn train with no flags but --model builds what build_model builds from the
    # library's defaults: the same settings, the same parameters.
    recipe = recipe_from_args(parse("--model", name))
    assert recipe.model == ModelConfig(model=name)
    assert recipe.optim == OptimConfig() and recipe.data == DataConfig()
    assert recipe.run == RunConfig()
    exp = prepare(recipe)
    with torch.device("meta"):
        cli_model = exp.build()
        library = build_model(ModelConfig(model=name), exp.in_channels, exp.out_channels)
    assert repr(cli_model) == repr(library)
    assert [p.shape for p in cli_model.parameters()] == [p.shape for p in library.parameters()]


def test_a_config_file_with_a_flag_over_it(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("model: {num_layers: 3, hidden_channels: 32}\noptim: {lr: 0.05}\n")
    recipe = recipe_from_args(parse("--config", str(path), "--layers", "6"))
    assert recipe.model.num_layers == 6  # the flag
    assert recipe.model.hidden_channels == 32 and recipe.optim.lr == 0.05  # the file
    assert recipe.optim.epochs == OptimConfig().epochs  # neither: the default


def test_values_of_flags_are_parsed_by_the_fields_type():
    args = parse("--branch-gate", "none", "--grad-clip", "none", "--no-learn-t", "--t", "0.5")
    values = given(args)
    assert values["model.branch_gate"] is None and values["optim.grad_clip"] is None
    assert values["model.conv_options.learn_t"] is False
    assert values["model.conv_options.t"] == 0.5
    assert given(args, "optim") == {"grad_clip": None}
    assert parse("--branch-gate", "auto").__dict__["cfg__model.branch_gate"] == "auto"
    with pytest.raises(SystemExit):
        parse("--layers", "many")


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--layers", "'x' is not an integer (see"),
        ("--grad-clip", "'x' is not a number (or none) (see"),
        ("--block-weight-decay", "'x' is not a number (or none or auto) (see"),
    ],
)
def test_a_value_that_is_not_a_number_names_what_else_the_flag_takes(flag, message, capsys):
    with pytest.raises(SystemExit):
        parse(flag, "x")
    assert f"argument {flag}: {message}" in capsys.readouterr().err


def test_a_conv_option_the_conv_does_not_take_names_both_flags():
    with pytest.raises(ValueError, match=r"--heads is not used by --conv gcnii \(its options: "):
        recipe_from_args(parse("--heads", "2"))
    assert recipe_from_args(parse("--conv", "gat", "--heads", "2")).model.conv_options == {
        "heads": 2
    }
    assert Recipe().model.conv == "auto"


def shown_defaults(parser: argparse.ArgumentParser) -> dict[str, str]:
    """``{dest: the default its help gives}`` of a parser's generated flags."""
    out = {}
    for action in parser._actions:
        if not action.dest.startswith("cfg__") or not action.help:
            continue
        found = re.search(r"\(default: (.*)\)$|; default (.*)\)$", action.help, re.S)
        if found:
            text = found[1] if found[1] is not None else found[2]
            out[action.dest[len("cfg__") :]] = " ".join(text.split())
    return out


def assert_help_shows(parser: argparse.ArgumentParser, recipe: Recipe) -> None:
    shown = shown_defaults(parser)
    assert "optim.epochs" in shown and "optim.lr" in shown
    for key, text in shown.items():
        section, field = key.split(".", 1)
        if field.startswith("conv_options."):
            option = field.split(".", 1)[1]
            if option not in recipe.model.conv_options:
                continue  # the conv's own default, as the help says
            value = recipe.model.conv_options[option]
        elif getattr(recipe, section) is None:
            continue  # a section the recipe leaves out (search): its class's defaults
        else:
            value = getattr(getattr(recipe, section), field)
        assert text == ("none" if value is None else str(value)), (key, text, value)


def test_the_help_of_every_command_gives_the_defaults_it_runs_with():
    from revgnn.cli import deepgcn, search
    from revgnn.config import load_recipe

    cases = [
        (train_cli.add_arguments, Recipe()),
        (search.add_arguments, load_recipe("search/sgas")),
        (deepgcn.add_arguments, load_recipe("deepgcn/synthetic-textures")),
        (lambda p: deepgcn.add_arguments(p, "s3dis"), load_recipe("deepgcn/s3dis")),
        (lambda p: train_cli.add_arguments(p, shown="ogbn-proteins/revgnn-deep"),
         load_recipe("ogbn-proteins/revgnn-deep")),
    ]  # fmt: skip
    for add, recipe in cases:
        parser = ArgumentParser(prog="revgnn")
        add(parser)
        assert_help_shows(parser, recipe)
    # the values differ from the classes' own where a command's recipe sets them
    parser = ArgumentParser(prog="revgnn deepgcn")
    deepgcn.add_arguments(parser)
    assert shown_defaults(parser)["optim.epochs"] == "30" != str(OptimConfig().epochs)
