"""One small registry: validated names mapped to factories, shared by every family.

Losses, remedies, datasets, activations and metrics are each a :class:`Registry`. A new
entry is one decorated function or class; the suite schema validates names against the
registries, so an unknown name is a validation error that lists the known ones.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered object with its name and a one-line description."""

    name: str
    obj: T
    description: str


class Registry(Generic[T]):
    """Maps validated names to objects (factories, functions, classes).

    Args:
        kind: what the registry holds, used in error messages ("loss", "dataset", ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, description: str) -> Callable[[T], T]:
        """Decorator that registers ``obj`` under ``name`` with a one-line description."""

        def deco(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = Entry(name, obj, description.strip())
            return obj

        return deco

    def add(self, name: str, obj: T, description: str) -> T:
        """Register ``obj`` without decorator syntax."""
        return self.register(name, description)(obj)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def unknown_message(self, name: Any) -> str:
        """A readable message for an unknown name, with a close match if there is one."""
        close = difflib.get_close_matches(str(name), self.names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown {self.kind} {name!r}{hint}; known: {', '.join(self.names())}"

    def entry(self, name: str) -> Entry[T]:
        """The entry for ``name``; raises ``KeyError`` with a readable message."""
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(self.unknown_message(name)) from None

    def get(self, name: str) -> T:
        """The object registered under ``name``."""
        return self.entry(name).obj
