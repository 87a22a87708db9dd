"""Recording an impression: validate the request against the caller's placement, the campaign and the
impression token, price it, and charge it exactly once (billing.repository.record is one transaction).

Without a token no /match vouches for the impression, so the campaign must still be servable in the caller's
game by every rule that needs no scene or player (_unservable_reason): 409 otherwise, nothing charged. A replay of
a billed impression gets its first response whatever changed since (_billed_before).

Exactly once: the impression id is derived from the token's jti, else from the tenant's Idempotency-Key, so a
replay collides on the impression Put and gets the first response back, with no second charge. Never
overspend: every limit is a condition inside the transaction; the reads here only choose the values to
condition on and the error to report.
"""

import base64
import hashlib
import random
import time
from dataclasses import replace

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from arbiter import clock, ids
from arbiter.ads import tokens
from arbiter.ads.billing import repository
from arbiter.ads.billing.models import (
    BillingCampaignView,
    BillingLedgerView,
    ImpressionCharge,
    ImpressionOutput,
    RecordImpressionInput,
)
from arbiter.ads.billing.repository import (
    ChargeRefused,
    ImpressionAlreadyRecorded,
    LoadedCampaign,
    TransactionContended,
)
from arbiter.ads.billing.revenue_share import split_charge
from arbiter.ads.campaigns import repository as campaigns_repository
from arbiter.ads.campaigns.fields import looks_like_id
from arbiter.ads.matching.filters import IMPRESSION_FILTERS, ImpressionContext
from arbiter.ads.matching.models import ServingCampaign, ServingPlacement
from arbiter.ads.placements.logic import get_active_placement
from arbiter.ads.placements.models import PlacementItem
from arbiter.ads.tokens import ImpressionClaims
from arbiter.auth.models import Principal
from arbiter.errors import ArbiterError, BadRequestError, ConflictError, ForbiddenError, NotFoundError
from arbiter.money import impression_charge_millicents, millicents_to_cents
from arbiter.observability import metrics

# Each attempt re-reads the ledger: a day rollover, a budget edit or write contention can each cost one.
MAX_ATTEMPTS = 6
CONTENTION_BACKOFF_SECONDS = 0.02

BUDGET_EXHAUSTED = "Campaign budget exhausted"
BUDGET_BELOW_MATCHED_PRICE = "Campaign budget left cannot pay this impression at the price it was matched at"
DAILY_CAP_REACHED = "Campaign daily cap reached"
BALANCE_TOO_LOW = "Advertiser balance too low"
NOT_ACTIVE = "Campaign is not active"
CAMPAIGN_NOT_FOUND = "Campaign not found"
NOT_SERVABLE = "Campaign cannot be served in this game"


def impression_id_for(tenant_id: str, claims: ImpressionClaims | None, idempotency_key: str | None) -> str:
    """Deterministic when the request can be replayed (token or Idempotency-Key), random otherwise."""
    if claims is not None:
        source = f"token\x00{claims.tenant_id}\x00{claims.jti}"
    elif idempotency_key is not None:
        source = f"key\x00{tenant_id}\x00{idempotency_key}"
    else:
        return ids.new_id("imp")
    digest = hashlib.sha256(source.encode("utf-8")).digest()[:10]  # 80 bits, the size of ids.new_id
    return "imp_" + base64.b32encode(digest).decode("ascii").lower()


def _verified_claims(principal: Principal, request: RecordImpressionInput) -> ImpressionClaims | None:
    if request.impression_token is None:
        return None
    claims = tokens.verify(request.impression_token)
    if claims.tenant_id != principal.tenant_id:
        raise ForbiddenError("impression_token was issued to another account")
    mismatch = _field_the_token_was_not_issued_for(claims, request)
    if mismatch is not None:
        raise BadRequestError(f"impression_token was issued for a different {mismatch}")
    return claims


def _field_the_token_was_not_issued_for(claims: ImpressionClaims, request: RecordImpressionInput) -> str | None:
    return next(
        (f for f in ("game_id", "campaign_id", "creative_id") if getattr(claims, f) != getattr(request, f)), None
    )


def _load_campaign(campaign_id: str) -> LoadedCampaign:
    loaded = repository.get_campaign(campaign_id) if looks_like_id("camp", campaign_id) else None
    if loaded is None:
        raise NotFoundError(CAMPAIGN_NOT_FOUND)
    return loaded


def _unservable_reason(rules: ServingCampaign, creative_id: str, placement: PlacementItem, game_id: str) -> str | None:
    """Why /match could not have chosen this impression, judged without a scene or a player; None if it could.

    An impression without a match token names a campaign no /match chose, so it must pass every rule /match
    would apply without them (matching.filters.IMPRESSION_FILTERS): the campaign's schedule, the placement's
    blocked advertisers and categories and accepted creative types, the campaign's game blocklist. A token
    vouches for its match, which applied them all (and the player's geo and frequency caps)."""
    creative = next(creative for creative in rules.creatives if creative.id == creative_id)
    candidate = replace(rules, creatives=(creative,))  # the type check judges this impression's creative
    context = ImpressionContext(game_id, ServingPlacement.from_item(placement.model_dump()), clock.now())
    for eligibility in IMPRESSION_FILTERS:
        reason = eligibility.check(candidate, context)
        if reason is not None:
            return reason
    return None


def _output_from_stored(item: dict) -> ImpressionOutput:
    return ImpressionOutput(
        impression_id=item["impression_id"],
        campaign_id=item["campaign_id"],
        creative_id=item["creative_id"],
        game_id=item["game_id"],
        charged_cents=millicents_to_cents(int(item["charged_millicents"])),
        recorded_at=item["recorded_at"],
    )


def _first_response(impression_id: str, principal: Principal, request: RecordImpressionInput) -> ImpressionOutput:
    """A replay: the stored impression is the answer, provided it is the same request."""
    stored = repository.get_impression(impression_id)
    if stored is None:  # the id collided but the item is gone: cannot happen while impressions are kept
        raise ConflictError("Impression was recorded but cannot be read back; retry")
    if stored["developer_tenant_id"] != principal.tenant_id:
        raise ForbiddenError("This impression belongs to another account")
    if (stored["campaign_id"], stored["creative_id"], stored["game_id"]) != (
        request.campaign_id,
        request.creative_id,
        request.game_id,
    ):
        raise ConflictError("Idempotency-Key was already used for a different impression")
    return _output_from_stored(stored)


def _roll_if_behind(campaign_id: str, ledger: BillingLedgerView) -> bool:
    """Starts today's daily counter when the ledger still counts an earlier day; whether the ledger changed
    (by this call or a concurrent one), so it must be re-read."""
    today = clock.utc_date().isoformat()
    if ledger.spend_day >= today:  # a ledger on a later day (a clock ahead elsewhere) keeps counting that day
        return False
    repository.roll_spend_day(campaign_id, today)
    return True


def _refusal_detail(charge: ImpressionCharge, campaign: BillingCampaignView, fresh: BillingLedgerView) -> str | None:
    """Why the ledger condition failed, judged on a fresh read, or None when the values charged with are stale
    (budget edited, day rolled) and a retry with fresh values is due."""
    if fresh.budget_millicents != charge.budget_millicents or fresh.spend_day != charge.day:
        return None
    if fresh.spent_millicents + charge.charged_millicents > fresh.budget_millicents:
        if fresh.spent_millicents + _one_impression_at_the_bid(campaign) <= fresh.budget_millicents:
            return BUDGET_BELOW_MATCHED_PRICE
        return BUDGET_EXHAUSTED
    cap = campaign.daily_cap_millicents
    if cap is not None and fresh.day_spent_millicents + charge.charged_millicents > cap:
        return DAILY_CAP_REACHED
    return None


def _one_impression_at_the_bid(campaign: BillingCampaignView) -> int:
    """What the next impression would cost. A token's price can be higher (the bid was lowered after /match): a
    budget that still pays this refuses only the token's impression, and the campaign keeps serving."""
    return impression_charge_millicents(campaign.cpm_bid_cents)


def _billed_before(
    principal: Principal, request: RecordImpressionInput, idempotency_key: str | None
) -> ImpressionOutput | None:
    """The first response of a replayed impression that was billed, or None. A replay gets it back whatever has
    changed since (token expired, placement disabled, campaign ended): its charge stands, and a game server
    retrying it must not be told it failed. Read only on a refusal, so it costs the happy path nothing."""
    claims = None
    if request.impression_token is not None:
        try:
            claims = tokens.verify(request.impression_token, allow_expired=True)
        except BadRequestError:
            return None
        if _field_the_token_was_not_issued_for(claims, request) is not None:
            return None  # not a replay of the token's impression: the refusal that named the mismatch stands
    elif idempotency_key is None:
        return None  # a request that cannot be replayed was never billed under this id
    impression_id = impression_id_for(principal.tenant_id, claims, idempotency_key)
    if repository.get_impression(impression_id) is None:
        return None
    return _first_response(impression_id, principal, request)


def _checked_for_billing(
    principal: Principal, request: RecordImpressionInput
) -> tuple[PlacementItem, ImpressionClaims | None, LoadedCampaign]:
    """The caller's active placement, the verified token and the campaign, or the error refusing the impression."""
    placement = get_active_placement(principal.tenant_id, request.game_id)
    claims = _verified_claims(principal, request)
    loaded = _load_campaign(request.campaign_id)
    if request.creative_id not in loaded.campaign.creative_ids:
        raise NotFoundError("Creative not found in this campaign")
    if claims is None:
        refusal = _unservable_reason(loaded.rules(), request.creative_id, placement, request.game_id)
        if refusal is not None:
            raise ConflictError(f"{NOT_SERVABLE}: {refusal}")
    return placement, claims, loaded


# Why impressions are refused, as a bounded metric dimension (a developer billing campaigns that cannot pay, a
# game sending stale tokens, an exhausted campaign still served from a stale cache all show here).
_REFUSAL_REASONS = {
    BUDGET_EXHAUSTED: "budget_exhausted",
    BUDGET_BELOW_MATCHED_PRICE: "budget_below_matched_price",
    DAILY_CAP_REACHED: "daily_cap_reached",
    BALANCE_TOO_LOW: "balance_too_low",
    NOT_ACTIVE: "not_active",
}


def _refusal_reason(error: ArbiterError) -> str:
    if error.detail in _REFUSAL_REASONS:
        return _REFUSAL_REASONS[error.detail]
    if error.detail.startswith(NOT_SERVABLE):
        return "not_servable"
    if error.detail.startswith("impression_token"):
        return "token"
    return type(error).__name__.removesuffix("Error").lower()  # notfound, forbidden, conflict, badrequest


def record_impression(
    principal: Principal, request: RecordImpressionInput, idempotency_key: str | None
) -> ImpressionOutput:
    """Bills the impression (below); a refusal is also counted as ImpressionsRefused by reason."""
    try:
        return _record_impression(principal, request, idempotency_key)
    except ArbiterError as error:
        with single_metric(
            name="ImpressionsRefused",
            unit=MetricUnit.Count,
            value=1,
            namespace=metrics.namespace,
            default_dimensions=metrics.default_dimensions,
        ) as metric:
            metric.add_dimension(name="reason", value=_refusal_reason(error))
        raise


def _record_impression(
    principal: Principal, request: RecordImpressionInput, idempotency_key: str | None
) -> ImpressionOutput:
    try:
        placement, claims, loaded = _checked_for_billing(principal, request)
    except (BadRequestError, ConflictError, NotFoundError):
        replayed = _billed_before(principal, request, idempotency_key)
        if replayed is None:
            raise
        return replayed
    campaign = loaded.campaign
    impression_id = impression_id_for(principal.tenant_id, claims, idempotency_key)
    # The token's price: a bid change after /match does not change what this impression costs.
    cpm_bid_cents = claims.cpm_bid_cents if claims is not None else campaign.cpm_bid_cents
    charged = impression_charge_millicents(cpm_bid_cents)
    developer_share, platform_take = split_charge(charged, placement.revenue_share_bps)
    if claims is not None:
        idempotency_source = f"token:{claims.jti}"
    elif idempotency_key is not None:
        idempotency_source = f"key:{idempotency_key}"
    else:
        idempotency_source = "none"

    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            loaded = _load_campaign(request.campaign_id)
        if _roll_if_behind(loaded.campaign.id, loaded.ledger):
            loaded = _load_campaign(request.campaign_id)
        campaign, ledger = loaded.campaign, loaded.ledger
        charge = ImpressionCharge(
            impression_id=impression_id,
            developer_tenant_id=principal.tenant_id,
            advertiser_tenant_id=campaign.tenant_id,
            advertiser_id=campaign.advertiser_id,
            campaign_id=campaign.id,
            creative_id=request.creative_id,
            game_id=request.game_id,
            creator_id=placement.creator_id,
            user_id=claims.user_id if claims else None,
            session_id=claims.session_id if claims else None,
            country_code=claims.country_code if claims else None,
            affinity_score=claims.affinity_score if claims else None,
            contributions=claims.contributions if claims else {},
            charged_millicents=charged,
            developer_share_millicents=developer_share,
            platform_take_millicents=platform_take,
            budget_millicents=ledger.budget_millicents,
            daily_cap_millicents=campaign.daily_cap_millicents,
            day=ledger.spend_day,
            recorded_at=clock.now_iso(),
            idempotency_source=idempotency_source,
        )
        try:
            repository.record(charge)
        except ImpressionAlreadyRecorded:
            return _first_response(impression_id, principal, request)
        except TransactionContended:
            time.sleep(random.uniform(0, CONTENTION_BACKOFF_SECONDS * (attempt + 1)))
            continue
        except ChargeRefused as refusal:
            if refusal.reason == "campaign":
                if _load_campaign(request.campaign_id).campaign.status == "active":
                    continue  # its daily cap changed since it was read: charge against the new one
                raise ConflictError(NOT_ACTIVE) from None
            if refusal.reason == "balance":
                campaigns_repository.exhaust_if_balance_low(
                    campaign.id, campaign.tenant_id, campaign.cpm_bid_cents, clock.now_iso()
                )
                raise ConflictError(BALANCE_TOO_LOW) from None
            fresh = _load_campaign(request.campaign_id).ledger
            detail = _refusal_detail(charge, campaign, fresh)
            if detail is None:
                continue
            if detail == BUDGET_EXHAUSTED:
                campaigns_repository.exhaust_if_out_of_budget(
                    campaign.id, fresh.budget_millicents, campaign.cpm_bid_cents, clock.now_iso()
                )
            raise ConflictError(detail) from None
        return ImpressionOutput(
            impression_id=impression_id,
            campaign_id=campaign.id,
            creative_id=request.creative_id,
            game_id=request.game_id,
            charged_cents=millicents_to_cents(charged),
            recorded_at=charge.recorded_at,
        )
    raise ConflictError("The campaign ledger is busy; retry the impression with the same Idempotency-Key")
