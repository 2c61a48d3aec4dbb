"""Safe, bounded YAML loading that remembers where every key came from.

The suite loader needs three things PyYAML does not give directly:

* the line of every field, so that a validation error can say ``line 12``;
* refusal of pathological input (alias bombs, huge or binary files) before it costs memory;
* YAML 1.2-style floats (``1e-4`` is a float, not the string PyYAML 1.1 makes of it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

#: Largest suite file accepted, in bytes. Suites are a few hundred lines at most.
MAX_BYTES = 1 << 20
#: Largest number of nodes the document may expand to once aliases are followed.
MAX_EXPANDED_NODES = 100_000
#: Deepest nesting accepted.
MAX_DEPTH = 64

Path = tuple[Any, ...]


@dataclass(frozen=True)
class Problem:
    """One validation problem: a dotted field path, the line (1-based, or None) and a message."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        field = self.path or "<suite>"
        return f"{field}{where}: {self.message}"


class SuiteError(Exception):
    """A suite that cannot be used; carries every :class:`Problem` found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 floats (``1e-4``, ``2E5``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _expanded_size(node: yaml.Node, memo: dict[int, int], depth: int = 0) -> int:
    if depth > MAX_DEPTH:
        raise SuiteError([Problem("", None, f"document nests deeper than {MAX_DEPTH} levels")])
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # guards against recursive aliases while we are inside this node
    size = 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            size += _expanded_size(k, memo, depth + 1) + _expanded_size(v, memo, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            size += _expanded_size(v, memo, depth + 1)
    memo[key] = size
    if size > MAX_EXPANDED_NODES:
        raise SuiteError(
            [Problem("", None, f"document expands to more than {MAX_EXPANDED_NODES} nodes "
                     "(alias bomb?); refused")]
        )
    return size


def _line_map(node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[Problem],
              depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        return
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k.value)
            if key in seen:
                problems.append(Problem(".".join(map(str, path + (key,))), k.start_mark.line + 1,
                                        "duplicate key"))
            seen.add(key)
            lines.setdefault(path + (key,), k.start_mark.line + 1)
            _line_map(v, path + (key,), lines, problems, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            lines.setdefault(path + (i,), v.start_mark.line + 1)
            _line_map(v, path + (i,), lines, problems, depth + 1)


def load_yaml(text: str | bytes) -> tuple[Any, dict[Path, int]]:
    """Parse ``text`` safely and return ``(data, lines)``.

    ``lines`` maps a field path (tuple of keys / indices) to the 1-based line where it
    appears. Raises :class:`SuiteError` for syntax errors, binary or oversized input,
    alias bombs and duplicate keys.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise SuiteError([Problem("", None, f"file is larger than {MAX_BYTES} bytes; refused")])
        if b"\x00" in text:
            raise SuiteError([Problem("", None, "file is binary (NUL bytes), not YAML")])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SuiteError([Problem("", None, f"file is not UTF-8 text ({exc.reason} at byte "
                                      f"{exc.start})")]) from None
    if len(text) > MAX_BYTES:
        raise SuiteError([Problem("", None, f"file is larger than {MAX_BYTES} bytes; refused")])
    if "\x00" in text:
        raise SuiteError([Problem("", None, "file is binary (NUL bytes), not YAML")])
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SuiteError([Problem("", None, "the suite file is empty")])
        _expanded_size(node, {})
        problems: list[Problem] = []
        lines: dict[Path, int] = {}
        _line_map(node, (), lines, problems)
        if problems:
            raise SuiteError(problems)
        data = loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SuiteError([Problem("", line, f"unsupported YAML tag ({exc.problem}); suites are "
                                  "plain data and only safe tags are accepted")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        msg = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
        raise SuiteError([Problem("", line, f"YAML syntax error: {msg}")]) from None
    except yaml.YAMLError as exc:
        raise SuiteError([Problem("", None, f"YAML error: {exc}")]) from None
    except RecursionError:
        raise SuiteError([Problem("", None, "document nests too deeply; refused")]) from None
    finally:
        loader.dispose()
    return data, lines


def line_for(lines: dict[Path, int], path: Path) -> int | None:
    """The line of the longest prefix of ``path`` that appears in the document."""
    path = tuple(path)
    while path:
        for cand in (path, tuple(str(p) for p in path)):
            if cand in lines:
                return lines[cand]
        path = path[:-1]
    return None
