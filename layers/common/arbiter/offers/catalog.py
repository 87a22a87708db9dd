"""A game's offer catalog: create, list, get, replace, delete (/v2/games/{game_id}/offers).

A game belongs to the tenant whose key first created an offer for it (a conditional claim item); from then on
another tenant's key gets 403 for it and an unknown game is 404 (docs/decisions.md D4).

`cached_catalog` is the recommend/feedback read path: each warm instance keeps a game's catalog for
OFFERS_CATALOG_CACHE_SECONDS; this instance's own writes drop its copy at once, other instances see them within
that time.
"""

import threading
import time

from arbiter import clock
from arbiter.auth.models import Principal
from arbiter.offers import repository
from arbiter.offers.models import (
    CreateGameOfferInput,
    GameOfferFields,
    GameOfferItem,
    GameOfferListOutput,
    GameOfferOutput,
)
from arbiter.offers.repository import GameCatalog

OFFERS_CATALOG_CACHE_SECONDS = 5.0

_cache: dict[str, tuple[float, GameCatalog | None]] = {}
_cache_lock = threading.Lock()


def forget_catalogs() -> None:
    """Drop every cached catalog (tests; a new instance starts this way)."""
    with _cache_lock:
        _cache.clear()


def _forget(game_id: str) -> None:
    with _cache_lock:
        _cache.pop(game_id, None)


def cached_catalog(game_id: str) -> GameCatalog | None:
    """The game's catalog, from memory when younger than the TTL; None for an unclaimed game (also cached, so a
    stream of requests for a wrong game id costs one Query per TTL)."""
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(game_id)
        if cached is not None and now - cached[0] < OFFERS_CATALOG_CACHE_SECONDS:
            return cached[1]
    return fresh_catalog(game_id)


def fresh_catalog(game_id: str) -> GameCatalog | None:
    """The game's catalog read now (one Query), which also becomes this instance's cached copy."""
    now = time.monotonic()
    catalog = repository.read_catalog(game_id)
    with _cache_lock:
        _cache[game_id] = (now, catalog)
    return catalog


def create_offer(principal: Principal, game_id: str, body: CreateGameOfferInput) -> GameOfferOutput:
    now = clock.now_iso()
    item = GameOfferItem.from_fields(game_id, body.offer_id, body, created_at=now, now=now)
    repository.create_offer(principal.tenant_id, item)
    _forget(game_id)
    return item.to_output()


def list_offers(principal: Principal, game_id: str) -> GameOfferListOutput:
    catalog = repository.owned_catalog(game_id, principal.tenant_id)
    offers = [item.to_output() for item in sorted(catalog.offers, key=lambda item: item.offer_id)]
    return GameOfferListOutput(offers=offers, count=len(offers))


def get_offer(principal: Principal, game_id: str, offer_id: str) -> GameOfferOutput:
    return repository.get_offer(game_id, principal.tenant_id, offer_id).item.to_output()


def replace_offer(principal: Principal, game_id: str, offer_id: str, body: GameOfferFields) -> GameOfferOutput:
    stored = repository.get_offer(game_id, principal.tenant_id, offer_id)
    item = GameOfferItem.from_fields(game_id, offer_id, body, created_at=stored.item.created_at, now=clock.now_iso())
    repository.replace_offer(stored, principal.tenant_id, item)
    _forget(game_id)
    return item.to_output()


def delete_offer(principal: Principal, game_id: str, offer_id: str) -> None:
    repository.delete_offer(game_id, principal.tenant_id, offer_id)
    _forget(game_id)
