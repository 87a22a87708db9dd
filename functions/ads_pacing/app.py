"""PacingFunction: the scheduled pacing job (EventBridge, rate(5 minutes)); see arbiter.ads.pacing.job."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from arbiter.ads.pacing import job
from arbiter.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The run paces from the stored state and the clock, not from the event's time: a late or repeated
    # delivery does the same (idempotent) work as a timely one.
    report = job.run()
    metrics.add_metric(name="PacingCampaigns", unit=MetricUnit.Count, value=report.campaigns)
    metrics.add_metric(name="PacingThrottlesSet", unit=MetricUnit.Count, value=len(report.throttled))
    metrics.add_metric(name="PacingCompleted", unit=MetricUnit.Count, value=len(report.completed))
    metrics.add_metric(name="PacingExhausted", unit=MetricUnit.Count, value=len(report.exhausted))
    metrics.add_metric(name="PacingDayRolled", unit=MetricUnit.Count, value=len(report.rolled))
    metrics.add_metric(name="PacingFailures", unit=MetricUnit.Count, value=len(report.failed))
    logger.info(
        "pacing run",
        slot=report.slot,
        campaigns=report.campaigns,
        throttled=len(report.throttled),
        completed=len(report.completed),
        exhausted=len(report.exhausted),
        rolled=len(report.rolled),
        already_paced=report.already_paced,
        failed=len(report.failed),
    )
    return report.as_dict()
