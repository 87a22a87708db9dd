"""CSV variants of the list-shaped reports (`?format=csv`): a header row, then one row per list entry."""

import csv
import io
from collections.abc import Sequence

from pydantic import BaseModel


def rows_to_csv(rows: Sequence[BaseModel], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180 line breaks
    writer.writerow(columns)
    for row in rows:
        values = row.model_dump(mode="json")
        writer.writerow(["" if values[name] is None else values[name] for name in columns])
    return buffer.getvalue()
