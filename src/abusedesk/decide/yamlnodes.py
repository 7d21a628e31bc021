"""Reading YAML nodes while keeping their positions, and collecting positioned problems."""

from __future__ import annotations

from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode

from abusedesk.decide.model import Value


class Problems:
    """Mistakes found in one rules file, each as `file:line:column: where: what`."""

    def __init__(self, path: object, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.messages: list[str] = []

    def add(self, node: Node | None, message: str, where: str | None = None) -> None:
        line, column = (node.start_mark.line, node.start_mark.column) if node else (0, 0)
        self._add(line, column, message, where)

    def missing(self, where: str, key: str) -> None:
        self.messages.append(f"{self.path}: {where}: '{key}' is missing")

    def add_in_text(self, node: Node, offset: int, message: str, where: str | None) -> None:
        """A problem at `offset` inside the text of a scalar (a condition)."""
        line, column = node.start_mark.line, node.start_mark.column
        style = node.style if isinstance(node, ScalarNode) else None
        if style in {"|", ">"}:
            line, column = self._in_block(node, offset)
        else:
            column += (1 if style in {"'", '"'} else 0) + offset
        self._add(line, column, message, where)

    def _in_block(self, node: Node, offset: int) -> tuple[int, int]:
        """Where `offset` of a block scalar's value is: each source line is one stretch of it.

        Literal (`|`) and folded (`>`) values join their lines with one character
        (a newline or a space), so the stretches line up with the source lines.
        """
        first, last = node.start_mark.line + 1, node.end_mark.line
        start = 0
        for line in range(first, max(last, first + 1)):
            source = self.lines[line] if line < len(self.lines) else ""
            text = source.strip()
            if offset <= start + len(text) or line == last - 1:
                indent = len(source) - len(source.lstrip(" "))
                return line, indent + max(offset - start, 0)
            start += len(text) + 1
        return first, 0

    def _add(self, line: int, column: int, message: str, where: str | None) -> None:
        prefix = f"{where}: " if where else ""
        self.messages.append(f"{self.path}:{line + 1}:{column + 1}: {prefix}{message}")


def mapping(
    node: Node | None, problems: Problems, allowed: set[str] | None, what: str
) -> dict[str, Node]:
    """A mapping's keys and value nodes; unknown keys (when `allowed` is given) are problems."""
    if node is None:
        return {}
    if not isinstance(node, MappingNode):
        problems.add(node, f"{what} must be a mapping of 'key: value' lines")
        return {}
    found: dict[str, Node] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, ScalarNode) else None
        if not isinstance(key, str):
            problems.add(key_node, f"{what}: keys must be names")
            continue
        if allowed is not None and key not in allowed:
            expected = ", ".join(sorted(allowed))
            problems.add(key_node, f"unknown field {key!r} in {what}; expected one of {expected}")
            continue
        if key in found:
            problems.add(key_node, f"{what}: {key!r} is given twice")
        found[key] = value_node
    return found


def scalar_text(node: Node, problems: Problems, where: str | None = None) -> str | None:
    if not isinstance(node, ScalarNode):
        problems.add(node, "expected a single value here, not a list or mapping", where)
        return None
    return str(node.value)


def scalar_value(node: Node, problems: Problems, where: str | None = None) -> Value | None:
    """A scalar as YAML types it: true/false, a number or text."""
    if not isinstance(node, ScalarNode):
        problems.add(node, "expected a single value here, not a list or mapping", where)
        return None
    try:
        value = SafeConstructor().construct_object(node)
    except ConstructorError as exc:
        problems.add(node, f"unreadable value: {exc.problem}", where)
        return None
    if isinstance(value, bool | int | float | str):
        return value
    problems.add(node, "expected true/false, a number or text", where)
    return None
