"""The ReportsAggregatorFunction: the impressions table's stream -> the reporting rollups.

Powertools' BatchProcessor parses each record (a record that is not a billed impression is logged and skipped:
retrying it could never succeed). The batch's impressions are then applied together (rollups.apply: counters
summed per item, chunked transactions, idempotent per impression). Records whose writes failed are reported
through partial batch failure (`batchItemFailures`), so Lambda redelivers from the earliest of them; records
already applied are skipped on redelivery by their marker.
"""

import sys
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from arbiter.ads.reporting import rollups
from arbiter.ads.reporting.facts import ImpressionFact, NotAnImpression, fact_from_image
from arbiter.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def parse_record(record: DynamoDBRecord) -> ImpressionFact | None:
    if record.event_name is not DynamoDBRecordEventName.INSERT or record.dynamodb is None:
        return None  # only new impressions count (the template's filter delivers nothing else)
    try:
        return fact_from_image(record.dynamodb.new_image)
    except (NotAnImpression, KeyError, ValueError) as error:
        logger.warning("skipping a stream record that is not a billed impression", error=str(error))
        metrics.add_metric(name="AggregatorSkippedRecords", unit="Count", value=1)
        return None


class _WriteFailed(Exception):
    """Marks a record whose rollup writes did not all succeed."""


def _report_failures(parsed: list[tuple], failed_ids: set[str]) -> None:
    """Turn the records of failed impressions into Powertools failures (reported as batchItemFailures)."""
    for index, (status, fact, raw) in enumerate(parsed):
        if status != "success" or fact is None or fact.impression_id not in failed_ids:
            continue
        try:
            raise _WriteFailed(fact.impression_id)
        except _WriteFailed:
            parsed[index] = processor.failure_handler(DynamoDBRecord(raw), sys.exc_info())
        processor.success_messages.remove(raw)


def handle_batch(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    with processor(records=event.get("Records") or [], handler=parse_record, lambda_context=context):
        parsed = processor.process()
        facts = [fact for status, fact, _ in parsed if status == "success" and fact is not None]
        report = rollups.apply(facts)
        _report_failures(parsed, report.failed)
    metrics.add_metric(name="ImpressionsAggregated", unit="Count", value=report.applied)
    metrics.add_metric(name="ImpressionsAlreadyAggregated", unit="Count", value=report.already_applied)
    logger.info(
        "aggregated batch",
        records=len(event.get("Records") or []),
        applied=report.applied,
        already_applied=report.already_applied,
        failed=len(report.failed),
        transactions=report.transactions,
    )
    return processor.response()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_batch(event, context)
