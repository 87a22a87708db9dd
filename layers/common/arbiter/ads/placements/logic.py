"""Developer placements: enable (or re-enable), read, update, disable; lookups for ad serving and revenue."""

from arbiter import clock
from arbiter.ads.placements import repository
from arbiter.ads.placements.models import (
    EnablePlacementInput,
    PlacementItem,
    PlacementOutput,
    UpdatePlacementInput,
    pct_to_bps,
)
from arbiter.auth.models import Principal
from arbiter.errors import BadRequestError, NotFoundError


def to_output(item: PlacementItem) -> PlacementOutput:
    return PlacementOutput(
        game_id=item.game_id,
        creator_id=item.creator_id,
        placement_types=item.placement_types,
        revenue_share_pct=item.revenue_share_pct,
        max_ads_per_session=item.max_ads_per_session,
        blocked_advertisers=item.blocked_advertisers,
        blocked_categories=item.blocked_categories,
        is_active=item.is_active,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def get_placement_item(tenant_id: str, game_id: str) -> PlacementItem:
    """The tenant's placement, enabled or not: 404 if the game is unknown, 403 if another tenant's."""
    item = repository.get(game_id)
    if item is None:
        raise repository.not_found(game_id)
    if item.tenant_id != tenant_id:
        raise repository.forbidden(game_id)
    return item


class PlacementDisabled(NotFoundError):
    """The game's placements exist but are disabled: /impressions answers 404, /match serves nothing (204)."""


def get_active_placement(tenant_id: str, game_id: str) -> PlacementItem:
    """The tenant's enabled placement, for ad serving: 403 for another tenant's game, 404 if unknown or disabled
    (PlacementDisabled)."""
    item = get_placement_item(tenant_id, game_id)
    if not item.is_active:
        raise PlacementDisabled(f"Placements are disabled for game '{game_id}'")
    return item


def list_placements(tenant_id: str) -> list[PlacementItem]:
    """Every placement the tenant registered (enabled and disabled), ordered by game id."""
    return repository.list_for_tenant(tenant_id)


def enable(principal: Principal, game_id: str, request: EnablePlacementInput) -> PlacementOutput:
    now = clock.now_iso()
    item = PlacementItem(
        tenant_id=principal.tenant_id,
        game_id=game_id,
        creator_id=request.creator_id,
        placement_types=[placement_type.value for placement_type in request.placement_types],
        revenue_share_bps=pct_to_bps(request.revenue_share_pct),
        max_ads_per_session=request.max_ads_per_session,
        blocked_advertisers=request.blocked_advertisers,
        blocked_categories=request.blocked_categories,
        is_active=True,
        created_at=now,  # kept from the stored item when this re-enables a disabled placement
        updated_at=now,
    )
    return to_output(repository.enable(item))


def get(principal: Principal, game_id: str) -> PlacementOutput:
    return to_output(get_placement_item(principal.tenant_id, game_id))


def update(principal: Principal, game_id: str, request: UpdatePlacementInput) -> PlacementOutput:
    changes = request.model_dump(mode="json", exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise BadRequestError("Placement fields cannot be set to null")
    if not changes:
        return get(principal, game_id)
    if "revenue_share_pct" in changes:
        changes["revenue_share_bps"] = pct_to_bps(request.revenue_share_pct)
        del changes["revenue_share_pct"]
    changes["updated_at"] = clock.now_iso()
    return to_output(repository.update_fields(principal.tenant_id, game_id, changes))


def disable(principal: Principal, game_id: str) -> None:
    """Stops ad serving for the game; the configuration stays for a later POST to re-enable."""
    repository.update_fields(principal.tenant_id, game_id, {"is_active": False, "updated_at": clock.now_iso()})
