r"""One resolver mechanism for everything the library builds by name.

A :class:`Registry` maps names to builders (classes or functions) of one kind: graph
convolutions, aggregators, point convolutions, search operations, models, datasets, tasks,
solvers. It is PyG's ``resolver`` idea made a class: the registry is filled by the classes
and functions themselves (a decorator in their own file, so adding one is adding one file),
and a builder's options are its keyword parameters, read from its signature, so options
that a builder does not take are refused by name instead of being silently dropped.

Registries of operators share one namespace (:data:`OPERATORS`): a name may appear in
several of them only for the same operator class, so ``"sage"`` cannot mean PyG's mean
GraphSAGE in one place and a max-pool point convolution in another.

Names are looked up as PyG's resolver looks them up: case, ``-``, ``_`` and spaces do not
count (:func:`normalize`), and a PyG class name's ``Conv`` / ``Aggregation`` suffix may be
given, so ``"CiteSeer"``, ``"deepergcn"``, ``"fixed-point"``, ``"GATConv"`` and
``"SoftmaxAggregation"`` find ``citeseer``, ``deeper-gcn``, ``fixed_point``, ``gat`` and
``softmax``, and every lookup returns the registered spelling (:meth:`Registry.canonical`).
Two names of one registry may therefore not differ in those characters only.
"""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = [
    "CLASS_SUFFIXES",
    "OPERATORS",
    "Entry",
    "Registry",
    "did_you_mean",
    "keyword_options",
    "normalize",
    "resolve_name",
    "spelled",
]

T = TypeVar("T")

#: Operator names shared by the operator registries: ``name -> (registry kind, class)``.
OPERATORS: dict[str, tuple[str, type | None]] = {}


def normalize(name: str) -> str:
    """``name`` as lookups compare it: lower case, without ``-``, ``_`` and spaces (PyG's
    ``normalize_string``)."""
    return name.lower().replace("-", "").replace("_", "").replace(" ", "")


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the one of ``names`` closest to ``name``, or ``""``."""
    known = {normalize(n): n for n in names}
    close = difflib.get_close_matches(normalize(str(name)), list(known), n=1, cutoff=0.6)
    return f"; did you mean {known[close[0]]!r}?" if close else ""


def spelled(names: Iterable[str]) -> Callable[[str], str]:
    """An argparse ``type=`` that turns any spelling of one of ``names`` into it (and leaves
    other text for argparse's ``choices`` to refuse)."""
    known = {normalize(n): n for n in names}
    return lambda text: known.get(normalize(text), text)


#: PyG's class-name suffixes: ``GATConv`` and ``SoftmaxAggregation`` name ``gat`` and
#: ``softmax``, as in PyG's resolvers.
CLASS_SUFFIXES = ("conv", "aggregation")


def _match(name: str, known: dict[str, str]) -> str | None:
    """The name in ``known`` (``normalize(name) -> name``) that ``name`` spells, if any."""
    key = normalize(name)
    if key in known:
        return known[key]
    for suffix in CLASS_SUFFIXES:
        if key.endswith(suffix) and key[: -len(suffix)] in known:
            return known[key[: -len(suffix)]]
    return None


def _unknown(name: Any, names: list[str], arg: str) -> ValueError:
    return ValueError(f"{arg}={name!r} is not one of {', '.join(names)}{did_you_mean(name, names)}")


def resolve_name(name: str, names: Iterable[str], arg: str) -> str:
    """The one of ``names`` that ``name`` spells (:func:`normalize`; a PyG class name, with
    its ``Conv`` / ``Aggregation`` suffix, too); otherwise a ``ValueError`` naming ``arg``,
    listing ``names`` and the closest of them."""
    names = list(names)
    found = _match(name, {normalize(n): n for n in names}) if isinstance(name, str) else None
    if found is None:
        raise _unknown(name, names, arg)
    return found


def keyword_options(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """The keyword parameters of ``fn`` (keyword-only, or positional-or-keyword after the
    positional ones it is called with are removed by the caller): its options."""
    target = fn.__init__ if inspect.isclass(fn) else fn
    params = inspect.signature(target).parameters
    return {
        name: p
        for name, p in params.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and name != "self"
    }


def _returned_class(fn: Callable[..., Any]) -> type | None:
    if inspect.isclass(fn):
        return fn
    try:
        hint = typing.get_type_hints(fn).get("return")
    except Exception:  # an annotation that does not resolve: no class to compare
        return None
    return hint if inspect.isclass(hint) else None


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered builder: its name, the object, and what its registration says of it
    (``info``, free-form: e.g. a dataset's folder, a conv's graph preprocessing)."""

    name: str
    obj: T
    info: dict[str, Any] = field(default_factory=dict)

    def options(self, skip: int = 0) -> dict[str, inspect.Parameter]:
        """The builder's options: its keyword parameters after the first ``skip``
        positional ones."""
        params = list(keyword_options(self.obj).items())
        positional = [n for n, p in params if p.kind is p.POSITIONAL_OR_KEYWORD][:skip]
        return {n: p for n, p in params if n not in positional}

    def accepts(self, option: str, skip: int = 0) -> bool:
        target = self.obj.__init__ if inspect.isclass(self.obj) else self.obj
        var_kw = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(target).parameters.values())
        return option in self.options(skip) or var_kw


class Registry(Generic[T]):
    """Builders of one kind, by name.

    Args:
        kind (str): What the entries are, for messages (``"conv"``, ``"dataset"``, ...).
        arg (str, optional): The argument that names an entry, for messages
            (``aggr='median' is not one of ...``; default: ``kind``).
        operators (bool): Whether the names share the operator namespace
            (:data:`OPERATORS`).
    """

    def __init__(self, kind: str, arg: str | None = None, operators: bool = False) -> None:
        self.kind = kind
        self.arg = arg or kind
        self.operators = operators
        self._entries: dict[str, Entry[T]] = {}
        self._keys: dict[str, str] = {}  # normalize(name) -> name

    def register(self, *names: str, **info: Any) -> Callable[[T], T]:
        """Decorator registering a class or function under ``names``; ``info`` is kept with
        the entry."""
        if not names:
            raise ValueError(f"register a {self.kind} under at least one name")

        def decorator(obj: T) -> T:
            for name in names:
                self.add(name, obj, **info)
            return obj

        return decorator

    def add(self, name: str, obj: T, **info: Any) -> None:
        """Register ``obj`` under ``name`` (see :meth:`register`)."""
        if name in self._entries:
            raise ValueError(
                f"{self.kind} name {name!r} is already registered to "
                f"{_label(self._entries[name].obj)}; choose another name"
            )
        twin = self._keys.get(normalize(name))
        if twin is not None:
            raise ValueError(
                f"{self.kind} name {name!r} differs from the registered {twin!r} only in case, "
                "'-', '_' or spaces, which lookups ignore; choose another name"
            )
        if self.operators:
            cls = info.get("operator") or _returned_class(obj)
            seen = OPERATORS.get(name)
            if seen is not None and seen[0] != self.kind and seen[1] is not cls:
                raise ValueError(
                    f"{self.kind} name {name!r} is already the {seen[0]} "
                    f"{_label(seen[1])}; an operator name means one operator everywhere: "
                    "choose another name"
                )
            OPERATORS.setdefault(name, (self.kind, cls))
        self._entries[name] = Entry(name, obj, dict(info))
        self._keys[normalize(name)] = name

    def canonical(self, name: str) -> str:
        """The registered spelling of ``name`` (``"SoftMax_SG"`` -> ``"softmax_sg"``); an
        unknown name is a ``ValueError`` listing the known and the closest of them."""
        if not isinstance(name, str):
            raise TypeError(f"a {self.kind} name must be a string, got {type(name).__name__}")
        found = _match(name, self._keys)
        if found is None:
            raise _unknown(name, self.names(), self.arg)
        return found

    def entry(self, name: str) -> Entry[T]:
        """The entry of ``name`` (any spelling :meth:`canonical` accepts)."""
        return self._entries[self.canonical(name)]

    def __getitem__(self, name: str) -> T:
        return self.entry(name).obj

    def get(self, name: str, default: Any = None) -> T | Any:
        return self.entry(name).obj if name in self else default

    def __delitem__(self, name: str) -> None:
        """Unregister ``name`` (a test's temporary entry)."""
        name = self.canonical(name)
        del self._entries[name]
        del self._keys[normalize(name)]
        if self.operators and OPERATORS.get(name, ("",))[0] == self.kind:
            del OPERATORS[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _match(name, self._keys) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> Iterable[tuple[str, T]]:
        return ((n, e.obj) for n, e in self._entries.items())

    def entries(self) -> list[Entry[T]]:
        return list(self._entries.values())

    def build(
        self, name: str, *args: Any, strict: Iterable[str] | None = None, **options: Any
    ) -> Any:
        """Call the builder of ``name`` with ``args`` and the ``options`` it takes.

        Options it does not take are dropped when they are not in ``strict`` (a recipe's
        settings for other builders), and refused by name when they are (a user set them);
        ``strict=None`` refuses every option it does not take.
        """
        entry = self.entry(name)
        taken = {k: v for k, v in options.items() if entry.accepts(k, len(args))}
        refused = [k for k in options if k not in taken and (strict is None or k in strict)]
        if refused:
            known = ", ".join(entry.options(len(args))) or "none"
            raise ValueError(
                f"{', '.join(refused)} {'is' if len(refused) == 1 else 'are'} not an option of "
                f"{self.kind} {name!r} (its options: {known})"
            )
        return entry.obj(*args, **taken)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def _label(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__name__
