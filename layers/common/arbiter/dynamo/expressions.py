"""Building UpdateExpressions from field dicts, with placeholders for every name and value (so attribute names
never clash with DynamoDB's reserved words and values never need escaping)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class UpdateExpression:
    """`SET`/`REMOVE` clauses plus their placeholders. Seed it with fixed clauses, add field dicts, then pass
    `expression`, `names` and `values` to update_item (or a transaction's Update)."""

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    assignments: list[str] = field(default_factory=list)
    removals: list[str] = field(default_factory=list)
    _counter: int = 0

    def _placeholder(self, name: str) -> str:
        self._counter += 1
        key = f"#u{self._counter}"
        self.names[key] = name
        return key

    def set_fields(self, fields: Mapping[str, Any], *, path: str = "") -> "UpdateExpression":
        """SET each field (under `path`, e.g. "#map.#child." for a map entry's attributes)."""
        for name, value in fields.items():
            placeholder = self._placeholder(name)
            self.values[f":{placeholder[1:]}"] = value
            self.assignments.append(f"{path}{placeholder} = :{placeholder[1:]}")
        return self

    def remove_fields(self, fields: Iterable[str], *, path: str = "") -> "UpdateExpression":
        for name in fields:
            self.removals.append(f"{path}{self._placeholder(name)}")
        return self

    @property
    def expression(self) -> str:
        clauses = []
        if self.assignments:
            clauses.append("SET " + ", ".join(self.assignments))
        if self.removals:
            clauses.append("REMOVE " + ", ".join(self.removals))
        return " ".join(clauses)
