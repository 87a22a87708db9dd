"""Route: record an impression and bill it exactly once (seed 001, Record Impression)."""

from aws_lambda_powertools.event_handler.api_gateway import Router

from arbiter.ads.billing import logic
from arbiter.ads.billing.models import ImpressionOutput, RecordImpressionInput
from arbiter.api.ads.headers import idempotency_key_header
from arbiter.auth.dependencies import Developer

router = Router()
TAGS = ["Ads: impressions"]

IdempotencyKey = idempotency_key_header("Retries with the same key return the first response and are charged once.")


@router.post("/api/ads/impressions", status_code=201, tags=TAGS, summary="Record impression")
def record_impression(
    body: RecordImpressionInput, principal: Developer, idempotency_key: IdempotencyKey = None
) -> ImpressionOutput:
    return logic.record_impression(principal, body, idempotency_key)
