from dataclasses import dataclass

import pytest

from revgnn.config.fields import AUTO, setting, settings_of, validate


@dataclass(frozen=True)
class Toy:
    count: int = setting(2, "how many", low=1)
    rate: float = setting(0.5, "a probability", low=0.0, high=1.0, high_open=True)
    gate: float | str | None = setting(AUTO, "a gate or auto")
    name: str = setting("a", "a name", choices=("a", "b"), flag="the-name")
    mode: str | None = setting(None, "a mode or none", choices=("x", "y", "row_scaled"))
    kind: str = setting("lin", "a registry name", names=lambda: ["lin", "soft_max"])
    extra: dict = setting({}, "options", cli=False)

    def __post_init__(self) -> None:
        validate(self)


def test_settings_carry_help_flag_bounds_and_fresh_mutable_defaults():
    s = {x.name: x for x in settings_of(Toy)}
    assert s["name"].flag == "the-name" and s["count"].flag == "count"
    assert s["rate"].help == "a probability" and not s["extra"].cli
    assert s["gate"].accepts_auto and s["gate"].optional and s["gate"].base is float
    assert Toy().extra is not Toy().extra  # a mutable default is a factory


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 0}, r"count=0 must be at least 1 \(how many\)"),
        ({"count": 1.5}, "count=1.5 must be int"),
        ({"count": True}, "count=True must be int"),
        ({"rate": 1.0}, r"rate=1.0 must lie in \[0, 1\)"),
        ({"rate": float("nan")}, "rate=nan is not a number"),
        ({"gate": "open"}, "gate='open' must be float or 'auto' or None"),
        ({"name": "c"}, r"name='c' must be one of a, b \(Toy.name\)"),
        ({"mode": "z"}, r"mode='z' must be one of x, y, row_scaled \(or none\) \(Toy.mode\)$"),
        ({"mode": "rowscale"}, r"\(Toy.mode\); did you mean 'row_scaled'\?$"),
        (
            {"kind": "softmx"},
            r"^kind='softmx' is not one of lin, soft_max; did you mean 'soft_max'",
        ),
    ],
)
def test_validation_names_the_setting(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Toy(**kwargs)


def test_valid_values_pass():
    Toy(count=3, rate=0.0, gate=None, name="b", mode="y")
    Toy(gate=0.25)
    Toy(rate=0)  # an int where a float is expected


def test_names_and_choices_are_kept_in_their_registered_spelling():
    toy = Toy(name="B", mode="Row-Scaled", kind="SoftMax")
    assert (toy.name, toy.mode, toy.kind) == ("b", "row_scaled", "soft_max")
    assert Toy(kind=AUTO).kind == AUTO  # "auto" is resolved later, not a name
