"""A game's offer catalog: create, list, get, replace, delete (/v2/games/{game_id}/offers).

A game belongs to the tenant whose key first created an offer for it (a conditional claim item); from then on
another tenant's key gets 403 for it and an unknown game is 404 (docs/decisions.md D4).

`cached_catalog` is the recommend/feedback read path: each warm instance keeps a game's catalog for
OFFERS_CATALOG_CACHE_SECONDS; this instance's own writes drop its copy at once, other instances see them within
that time. At most MAX_CACHED_CATALOGS games are kept, least recently used evicted first (a client sending ever-new
game ids, each a 404, must not grow the instance's memory: every id is cached, known or not).
"""

from arbiter import clock
from arbiter.auth.models import Principal
from arbiter.bounded_cache import BoundedCache
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
# In memory a catalog of 20 typical offers is ~35 KB and an unknown game's entry ~100 bytes: 2,000 such catalogs
# are ~70 MB of the 512 MB. An offer with every field at its maximum is ~11 KB, so a game at its 500-offer cap
# (repository.MAX_OFFERS_PER_GAME) of such offers is ~5.5 MB: the offers held are bounded too, 20,000 (~35 MB
# typical, ~220 MB if every one were at its maximum).
MAX_CACHED_CATALOGS = 2_000
MAX_CACHED_OFFERS = 20_000


def _offers_held(catalog: GameCatalog | None) -> int:
    return 1 + (len(catalog.offers) if catalog else 0)


_cache: BoundedCache[str, GameCatalog | None] = BoundedCache(
    MAX_CACHED_CATALOGS, OFFERS_CATALOG_CACHE_SECONDS, weigh=_offers_held, max_weight=MAX_CACHED_OFFERS
)


def forget_catalogs() -> None:
    """Drop every cached catalog (tests; a new instance starts this way)."""
    _cache.clear()


def _forget(game_id: str) -> None:
    _cache.pop(game_id)


def cached_catalog(game_id: str) -> GameCatalog | None:
    """The game's catalog, from memory when younger than the TTL; None for an unclaimed game (also cached, so a
    stream of requests for a wrong game id costs one Query per TTL)."""
    return _cache.get_or_load(game_id, lambda: repository.read_catalog(game_id))


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
