"""OffersExpirySweepFunction: the offers learner's scheduled expiry sweep (EventBridge, rate(15 minutes)), then the
prune of deleted offers' weights from the models of the games it visited; see arbiter.offers.maintenance and
arbiter.learning.sweep."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from arbiter.observability import logger, metrics, tracer
from arbiter.offers import maintenance


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The run sweeps from the stored watermark and the clock, not from the event's time: a late or repeated
    # delivery does the same (idempotent) work as a timely one. It stops in time to save where it is.
    result = maintenance.run_expiry_sweep(time_left=lambda: context.get_remaining_time_in_millis() / 1000)
    report = result.sweep
    metrics.add_metric(name="ExposuresExpiredBySweep", unit=MetricUnit.Count, value=report.expired)
    metrics.add_metric(name="ExpirySweepPlayers", unit=MetricUnit.Count, value=report.players)
    metrics.add_metric(name="ExpirySweepHours", unit=MetricUnit.Count, value=report.hours)
    metrics.add_metric(name="ExpirySweepBacklogHours", unit=MetricUnit.Count, value=report.backlog_hours)
    metrics.add_metric(name="ExpirySweepFailures", unit=MetricUnit.Count, value=len(report.failed))
    metrics.add_metric(name="ExpirySweepSkipped", unit=MetricUnit.Count, value=len(report.skipped))
    metrics.add_metric(name="OfferWeightsPruned", unit=MetricUnit.Count, value=result.pruned)
    metrics.add_metric(name="OfferWeightsPruneFailures", unit=MetricUnit.Count, value=len(result.prune_failed))
    summary = result.as_dict()
    logger.info("offers expiry sweep run", **summary)
    return summary
