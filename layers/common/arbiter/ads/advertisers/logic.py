"""Advertiser accounts: registration, profile and deposits."""

import hashlib

from arbiter import clock, ids
from arbiter.ads.advertisers import repository
from arbiter.ads.advertisers.models import (
    AdvertiserItem,
    AdvertiserOutput,
    DepositInput,
    DepositOutput,
    DepositReceiptItem,
    RegisterAdvertiserInput,
    UpdateProfileInput,
)
from arbiter.auth.models import Principal
from arbiter.errors import BadRequestError, ConflictError, NotFoundError
from arbiter.money import cents_to_millicents, millicents_to_cents


def to_output(item: AdvertiserItem) -> AdvertiserOutput:
    return AdvertiserOutput(
        id=item.id,
        company_name=item.company_name,
        contact_email=item.contact_email,
        website=item.website,
        balance_cents=millicents_to_cents(item.balance_millicents),
        created_at=item.created_at,
    )


def register(principal: Principal, request: RegisterAdvertiserInput) -> AdvertiserOutput:
    item = AdvertiserItem(
        tenant_id=principal.tenant_id,
        id=ids.new_id("adv"),
        company_name=request.company_name,
        contact_email=str(request.contact_email),
        website=request.website,
        created_at=clock.now_iso(),
    )
    repository.create(item)
    return to_output(item)


def get_advertiser(tenant_id: str) -> AdvertiserItem:
    item = repository.get(tenant_id)
    if item is None:
        raise NotFoundError("Advertiser not registered; call POST /api/ads/register first")
    return item


def get_profile(principal: Principal) -> AdvertiserOutput:
    return to_output(get_advertiser(principal.tenant_id))


def update_profile(principal: Principal, request: UpdateProfileInput) -> AdvertiserOutput:
    changes = request.model_dump(mode="json", exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise BadRequestError("Profile fields cannot be set to null")
    if not changes:
        return get_profile(principal)
    return to_output(repository.update_fields(principal.tenant_id, changes))


def deposit(principal: Principal, request: DepositInput, idempotency_key: str | None = None) -> DepositOutput:
    """Credits the balance. With an Idempotency-Key, exactly once: a retry credits nothing and answers with the
    amount first deposited and the balance as it is now."""
    amount = cents_to_millicents(request.amount_cents)
    if idempotency_key is None:
        balance = repository.add_funds(principal.tenant_id, amount).balance_millicents
    else:
        receipt = repository.add_funds_once(
            DepositReceiptItem(
                tenant_id=principal.tenant_id,
                id=_receipt_id(principal.tenant_id, idempotency_key),
                idempotency_key=idempotency_key,
                amount_millicents=amount,
                created_at=clock.now_iso(),
            )
        )
        if receipt.amount_millicents != amount:
            raise ConflictError("Idempotency-Key was already used for a deposit of another amount")
        balance = get_advertiser(principal.tenant_id).balance_millicents
    return DepositOutput(balance_cents=millicents_to_cents(balance), deposited_cents=request.amount_cents)


def _receipt_id(tenant_id: str, idempotency_key: str) -> str:
    return hashlib.sha256(f"{tenant_id}\x00{idempotency_key}".encode()).hexdigest()[:32]
