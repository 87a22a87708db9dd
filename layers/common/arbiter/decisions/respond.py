"""/api/v1/respond: record an outcome of a showing once, in the contact history and the model statistics.

A showing is an offer with one of its creatives in one decision: a multi-placement decision without `deduplicate`
can show one offer twice, with two creatives, and each showing's outcomes are recorded (and idempotent) on their
own. The body names no placement, so one creative shown in two placements of a decision is one showing.
"""

import random
import time

from arbiter import clock
from arbiter.auth.models import Principal
from arbiter.decisions import repository
from arbiter.decisions.api_models import RespondInput, RespondOutput
from arbiter.decisions.models import HISTORY_MAX_EVENTS, POSITIVE_OUTCOMES
from arbiter.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError

# The stored events' JSON: the newest that fit, so the history item stays under DynamoDB's 400 KB item limit
# whatever the catalog's texts (500 events of long non-ASCII categories would not fit, and every later respond
# for that customer would fail).
HISTORY_MAX_BYTES = 300_000
HISTORY_MAX_AGE_SECONDS = 90 * 86_400
RETRIES = 5  # history changed, a positive already counted, the offer deleted, or statistics contended: one each
CONTENTION_BACKOFF_SECONDS = 0.02


def respond(principal: Principal, request: RespondInput) -> RespondOutput:
    decision = repository.get_decision(request.interaction_id)
    if decision is None:
        raise NotFoundError(f"Interaction '{request.interaction_id}' not found")
    if decision["tenant_id"] != principal.tenant_id:
        raise ForbiddenError(f"Interaction '{request.interaction_id}' belongs to another tenant")
    served = [offer for offer in decision["offers"] if offer["offerId"] == request.offer_id]
    if not served:
        raise BadRequestError(f"Offer '{request.offer_id}' was not part of interaction '{request.interaction_id}'")
    creative_id = request.creative_id or served[0]["creativeId"]
    if not any(offer["creativeId"] == creative_id for offer in served):
        raise BadRequestError(f"Creative '{creative_id}' was not served with offer '{request.offer_id}'")
    moment = clock.parse_iso(request.timestamp) if request.timestamp else clock.now()
    now = int(clock.now().timestamp())
    # Within [the decision, now]: a client clock ahead of ours must not extend a cooldown, nor one behind it (or a
    # timestamp from before the offer was shown) shorten one or slip out of a frequency window.
    decided_at = int(clock.parse_iso(decision["createdAt"]).timestamp()) if decision.get("createdAt") else 0
    at = max(min(int(moment.timestamp()), now), min(decided_at, now))
    served_offer = served[0]
    event = {
        "o": request.offer_id,
        "c": creative_id,
        "k": served_offer.get("category"),
        "ch": served_offer.get("channelType"),
        "t": request.outcome.value,
        "ts": at,
        "i": request.interaction_id,
    }
    timestamp = clock.isoformat(moment)
    marker = {"creativeId": creative_id, "value": request.value, "timestamp": timestamp}
    count_positive = request.outcome in POSITIVE_OUTCOMES
    count_stats = True
    consistent = False
    for _ in range(RETRIES):
        events, rev = repository.get_history(principal.tenant_id, decision["customer_id"], consistent=consistent)
        kept = _newest_that_fit([e for e in events if e["ts"] > now - HISTORY_MAX_AGE_SECONDS], event)
        try:
            repository.record_outcome(
                tenant_id=principal.tenant_id,
                interaction_id=request.interaction_id,
                customer_id=decision["customer_id"],
                offer_id=request.offer_id,
                creative_id=creative_id,
                outcome=request.outcome.value,
                marker=marker,
                events=[*kept, event],
                history_rev=rev,
                value_micros=round(request.value * 1_000_000),
                expires_at=now + HISTORY_MAX_AGE_SECONDS,
                count_positive=count_positive,
                count_stats=count_stats,
            )
        except repository.PositiveAlreadyCounted:
            count_positive = False  # record the outcome itself; the showing already counts as one positive
            continue
        except repository.OfferDeleted:
            # The offer left the catalog (its statistics with it): record the outcome in the contact history only,
            # rather than recreate statistics that nothing would ever delete.
            count_stats = count_positive = False
            continue
        except repository.DuplicateOutcome:
            first = (
                repository.get_outcome_marker(
                    request.interaction_id, request.offer_id, creative_id, request.outcome.value
                )
                or marker
            )
            return RespondOutput(
                interaction_id=request.interaction_id,
                offer_id=request.offer_id,
                creative_id=first["creativeId"],
                outcome=request.outcome,
                recorded=False,
                timestamp=first["timestamp"],
            )
        except repository.HistoryChanged:
            # Another respond wrote first, or the read missed the latest write: re-read the latest, after a jitter
            # that keeps two concurrent responds of one customer from colliding again.
            consistent = True
            time.sleep(random.uniform(0, CONTENTION_BACKOFF_SECONDS))
            continue
        except repository.OutcomeContended:
            # Concurrent responds for one offer share its statistics item: back off and try again.
            time.sleep(random.uniform(0, CONTENTION_BACKOFF_SECONDS))
            continue
        return RespondOutput(
            interaction_id=request.interaction_id,
            offer_id=request.offer_id,
            creative_id=creative_id,
            outcome=request.outcome,
            recorded=True,
            timestamp=timestamp,
        )
    raise ConflictError("The customer's contact history is being updated concurrently; retry")


def _newest_that_fit(events: list[dict], new_event: dict) -> list[dict]:
    """The events to keep before `new_event`: the newest, at most HISTORY_MAX_EVENTS - 1 of them, and no more
    than fit in HISTORY_MAX_BYTES of stored JSON together with it."""
    newest = events[-(HISTORY_MAX_EVENTS - 1) :]
    if len(repository.encode([*newest, new_event]).encode()) <= HISTORY_MAX_BYTES:
        return newest  # the usual case: one encode of the list, no per-event sizing
    room = HISTORY_MAX_BYTES - len(repository.encode(new_event).encode())
    kept: list[dict] = []
    for event in reversed(newest):
        room -= len(repository.encode(event).encode()) + 1  # + its comma in the stored list
        if room < 0:
            break
        kept.append(event)
    return kept[::-1]
