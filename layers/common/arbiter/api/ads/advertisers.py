"""Routes: advertiser registration, profile and deposits (seed 001, Advertiser Management)."""

from aws_lambda_powertools.event_handler.api_gateway import Router

from arbiter.ads.advertisers import logic
from arbiter.ads.advertisers.models import (
    AdvertiserOutput,
    DepositInput,
    DepositOutput,
    RegisterAdvertiserInput,
    UpdateProfileInput,
)
from arbiter.api.ads.headers import idempotency_key_header
from arbiter.auth.dependencies import Advertiser

router = Router()
TAGS = ["Ads: advertisers"]

IdempotencyKey = idempotency_key_header(
    "A retried deposit with the same key credits nothing and answers with the same amount."
)


@router.post("/api/ads/register", status_code=201, tags=TAGS, summary="Register as advertiser")
def register(body: RegisterAdvertiserInput, principal: Advertiser) -> AdvertiserOutput:
    return logic.register(principal, body)


@router.get("/api/ads/profile", tags=TAGS, summary="Get profile")
def get_profile(principal: Advertiser) -> AdvertiserOutput:
    return logic.get_profile(principal)


@router.patch("/api/ads/profile", tags=TAGS, summary="Update profile")
def update_profile(body: UpdateProfileInput, principal: Advertiser) -> AdvertiserOutput:
    return logic.update_profile(principal, body)


@router.post("/api/ads/deposit", tags=TAGS, summary="Deposit ad spend")
def deposit(body: DepositInput, principal: Advertiser, idempotency_key: IdempotencyKey = None) -> DepositOutput:
    return logic.deposit(principal, body, idempotency_key)
