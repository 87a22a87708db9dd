"""`?format=csv` for the list-shaped reports: the same report as JSON (default) or as a CSV download."""

from collections.abc import Sequence
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from arbiter.ads.reporting.csv_export import rows_to_csv
from arbiter.ads.reporting.models import ReportFormat

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

FormatParam = Annotated[ReportFormat, Query(description="json (default) or csv: the list as a CSV file")]


def csv_or_json(report: BaseModel, format: ReportFormat, rows: Sequence[BaseModel], filename: str) -> Response:
    if format is ReportFormat.CSV:
        row_model = type(rows[0]) if rows else _row_model(report)
        return Response(
            status_code=200,
            content_type=CSV_CONTENT_TYPE,
            body=rows_to_csv(rows, list(row_model.model_fields)),
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=report.model_dump(mode="json"))


def _row_model(report: BaseModel) -> type[BaseModel]:
    """The row model of the report's list field (for the header of an empty CSV)."""
    for field in type(report).model_fields.values():
        arguments = getattr(field.annotation, "__args__", ())
        if arguments and isinstance(arguments[0], type) and issubclass(arguments[0], BaseModel):
            return arguments[0]
    raise TypeError(f"{type(report).__name__} has no list of rows")


def openapi_responses(model: type[BaseModel]) -> dict[int, dict[str, Any]]:
    return {
        200: {
            "description": "The report as JSON, or as CSV (a header row, then one row per entry) with ?format=csv",
            "content": {
                content_types.APPLICATION_JSON: {"model": model},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    }
