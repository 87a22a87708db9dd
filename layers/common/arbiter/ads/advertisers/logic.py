"""Advertiser accounts: registration, profile and deposits."""

from arbiter import clock, ids
from arbiter.ads.advertisers import repository
from arbiter.ads.advertisers.models import (
    AdvertiserItem,
    AdvertiserOutput,
    DepositInput,
    DepositOutput,
    RegisterAdvertiserInput,
    UpdateProfileInput,
)
from arbiter.auth.models import Principal
from arbiter.errors import BadRequestError, NotFoundError
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


def deposit(principal: Principal, request: DepositInput) -> DepositOutput:
    item = repository.add_funds(principal.tenant_id, cents_to_millicents(request.amount_cents))
    return DepositOutput(
        balance_cents=millicents_to_cents(item.balance_millicents),
        deposited_cents=request.amount_cents,
    )
