"""The demo world the sample events in events/ are written against, seeded through the public API.

One tenant holding the key `ak_demo_events_key` (stored hashed, like every key) with a registered, funded
advertiser, the placement `my_game_id`, and the campaign `camp_demo` with creatives `crt_demo` (+ a second
one), geo target `geo_demo`, blocklist rule `blk_demo` and affinity `aff_demo`. Each event gets the world its
request needs (no advertiser yet for the registration, an active campaign for the pause, and so on), so every
event answers with its documented success status.

Ids the API generates are pinned by handing out the demo ids from `arbiter.ids.new_id` while seeding.
Used by tests/test_events.py (moto in-process) and scripts/check_built_handlers.py (moto server).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from arbiter import clock, ids
from arbiter.ads.serving import cache as serving_cache
from arbiter.auth import keys, repository
from arbiter.auth.keys import hash_key
from arbiter.auth.models import ALL_SCOPES, ApiKeyRecord
from arbiter.decisions import cache as decisions_cache
from arbiter.decisions import recommend as decisions_recommend
from arbiter.devstack.gateway import Gateway, GatewayResponse
from arbiter.devstack.template import ApiFunction
from arbiter.learning import store as learning_store
from arbiter.offers import catalog as offers_catalog
from scripts.generate_events import (
    DEMO_AFFINITY_ID,
    DEMO_API_KEY,
    DEMO_BLOCKLIST_RULE_ID,
    DEMO_CAMPAIGN_ID,
    DEMO_CREATIVE_ID,
    DEMO_DECISION_CREATIVE_ID,
    DEMO_DECISIONS_TENANT_ID,
    DEMO_GAME_ID,
    DEMO_GAME_OFFER_ID,
    DEMO_GEO_TARGET_ID,
    DEMO_GUARDRAIL_ID,
    DEMO_INTERACTION_ID,
    DEMO_OFFER_ID,
    DEMO_OFFERS_GAME_ID,
    DEMO_POLICY_ID,
    DEMO_RULE_ID,
    REQUEST_BODIES,
)

DEMO_TENANT_ID = "demo-tenant"
DEMO_KEY_ID = "key_demo"
DEMO_DEPOSIT_CENTS = 1_000_000  # twice the demo campaign's budget, so activation is always affordable

# The seed's examples, reused so the world looks like the events' bodies.
ADVERTISER = REQUEST_BODIES[("POST", "/api/ads/register")]
# No flight dates: the campaign must be activatable whatever today's date is. Its tag is one the /match
# event's scene carries ("...defense spending"); the seed's "political" appears nowhere in that scene.
CAMPAIGN = {
    **{k: v for k, v in REQUEST_BODIES[("POST", "/api/ads/campaigns")].items() if not k.endswith("_date")},
    "target_tags": ["defense"],
}
CREATIVE = REQUEST_BODIES[("POST", "/api/ads/campaigns/{id}/creatives")]
SECOND_CREATIVE = {
    "creative_type": "product_mention",
    "brand_name": "Acme Corp",
    "product_name": "Acme Shield",
    "tone": "positive",
}
GEO_TARGET = REQUEST_BODIES[("POST", "/api/ads/campaigns/{id}/geo-targets")]
BLOCKLIST_RULE = REQUEST_BODIES[("POST", "/api/ads/campaigns/{id}/blocklist")]
AFFINITY = REQUEST_BODIES[("POST", "/api/ads/campaigns/{id}/affinities")]
PLACEMENT = REQUEST_BODIES[("POST", "/api/ads/placements/{game_id}")]


class SeedError(RuntimeError):
    """The public API refused a step of the demo world: a bug in that endpoint or in this world."""


def expected_status(function: ApiFunction) -> int:
    """The seed's documented success status: 201 for creates, 204 for deletes, 200 otherwise."""
    name = function.logical_id
    if name.startswith(("Create", "Register", "Record")):
        return 201
    if function.method == "DELETE":
        return 204
    return 200


@contextmanager
def pinned_ids(queue: dict[str, list[str]]) -> Iterator[None]:
    """Make `ids.new_id(prefix)` hand out the queued demo ids for that prefix (random ids after them)."""
    original = ids.new_id

    def demo_new_id(prefix: str) -> str:
        waiting = queue.get(prefix)
        return waiting.pop(0) if waiting else original(prefix)

    ids.new_id = demo_new_id
    try:
        yield
    finally:
        ids.new_id = original


def put_demo_key() -> None:
    repository.put_key(
        ApiKeyRecord(
            key_id=DEMO_KEY_ID,
            key_hash=hash_key(DEMO_API_KEY),
            tenant_id=DEMO_TENANT_ID,
            scopes=sorted(ALL_SCOPES),
            created_at=clock.now_iso(),
        )
    )


def _demo_headers(path: str) -> dict[str, str]:
    if path.startswith(("/v2/", "/v1/")):  # game offers (seed 000) authenticate with X-API-Key
        return {"X-API-Key": DEMO_API_KEY}
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
    if path.startswith("/api/v1/"):  # decisions routes also name the tenant (seed 002)
        headers["X-Tenant-Id"] = DEMO_DECISIONS_TENANT_ID
    return headers


class _World:
    def __init__(self, gateway: Gateway):
        self.gateway = gateway

    def call(self, method: str, path: str, body: Any = None, expect: int = 200, pinned: str | None = None) -> Any:
        response: GatewayResponse = self.gateway.request(method, path, headers=_demo_headers(path), body=body)
        if response.status != expect:
            raise SeedError(f"{method} {path} -> {response.status} (wanted {expect}): {response.body[:500]}")
        payload = response.json()
        if pinned is not None and payload.get("id") != pinned:
            raise SeedError(
                f"{method} {path} created {payload.get('id')!r}, not {pinned!r}: ids must come from "
                "arbiter.ids.new_id (called as `ids.new_id`) for the demo world to pin them"
            )
        return payload


def seed(function: ApiFunction, gateway: Gateway | None = None) -> None:
    """Seed the world `function`'s sample event expects, through the public API (tables must exist)."""
    world = _World(gateway or Gateway())
    put_demo_key()
    name = function.logical_id.removesuffix("Function")
    if function.path.startswith("/api/v1/"):
        seed_decisions(world, name)
        return
    if function.path.startswith(("/v2/", "/v1/")):
        seed_game_offers(world, name)
        return
    if not function.path.startswith("/api/ads/") or name == "RegisterAdvertiser":
        return  # platform routes need no data; registering is what that event does
    world.call("POST", "/api/ads/register", ADVERTISER, expect=201)
    world.call("POST", "/api/ads/deposit", {"amount_cents": DEMO_DEPOSIT_CENTS})
    if name != "CreatePlacement":
        world.call("POST", f"/api/ads/placements/{DEMO_GAME_ID}", PLACEMENT, expect=201)
    if function.path.startswith("/api/ads/placements") or name in ("GetProfile", "UpdateProfile", "Deposit"):
        return  # the campaign aggregate is not part of these requests
    queue = {
        "camp": [DEMO_CAMPAIGN_ID],
        "crt": [DEMO_CREATIVE_ID],
        "geo": [DEMO_GEO_TARGET_ID],
        "blk": [DEMO_BLOCKLIST_RULE_ID],
        "aff": [DEMO_AFFINITY_ID],
    }
    campaign = f"/api/ads/campaigns/{DEMO_CAMPAIGN_ID}"
    with pinned_ids(queue):
        world.call("POST", "/api/ads/campaigns", CAMPAIGN, expect=201, pinned=DEMO_CAMPAIGN_ID)
        world.call("POST", f"{campaign}/creatives", CREATIVE, expect=201, pinned=DEMO_CREATIVE_ID)
        # A second creative, so deleting crt_demo never removes an active campaign's last creative.
        world.call("POST", f"{campaign}/creatives", SECOND_CREATIVE, expect=201)
        world.call("POST", f"{campaign}/geo-targets", GEO_TARGET, expect=201, pinned=DEMO_GEO_TARGET_ID)
        world.call("POST", f"{campaign}/blocklist", BLOCKLIST_RULE, expect=201, pinned=DEMO_BLOCKLIST_RULE_ID)
        world.call("POST", f"{campaign}/affinities", AFFINITY, expect=201, pinned=DEMO_AFFINITY_ID)
    if name in ("PauseCampaign", "Match", "RecordImpression"):
        world.call("POST", f"{campaign}/activate")  # pausing, matching and billing need a serving campaign


def fresh_instance() -> None:
    """Forget what a warm instance keeps in memory (verified keys, /match caches): each event is a cold start."""
    keys.forget_verified_keys()
    serving_cache.clear()
    decisions_cache.clear()
    offers_catalog.forget_catalogs()
    learning_store.forget_models()


def seed_decisions(world: _World, name: str) -> None:
    """The demo tenant's decision catalog (offer off_demo with creative dcr_demo, rule, policy, guardrail, flow)
    minus what the event itself creates; the respond event also needs the logged interaction it names."""
    queue = {
        "off": [DEMO_OFFER_ID],
        "dcr": [DEMO_DECISION_CREATIVE_ID],
        "qr": [DEMO_RULE_ID],
        "cp": [DEMO_POLICY_ID],
        "gr": [DEMO_GUARDRAIL_ID],
    }
    creates = {
        "CreateDecisionOffer": ("/api/v1/offers", DEMO_OFFER_ID),
        "CreateQualificationRule": ("/api/v1/qualification-rules", DEMO_RULE_ID),
        "CreateContactPolicy": ("/api/v1/contact-policies", DEMO_POLICY_ID),
        "CreateGuardrail": ("/api/v1/guardrails", DEMO_GUARDRAIL_ID),
        "CreateDecisionFlow": ("/api/v1/decision-flows", None),
    }
    with pinned_ids(queue):
        for event_name, (path, pinned) in creates.items():
            if name != event_name:
                world.call("POST", path, REQUEST_BODIES[("POST", path)], expect=201, pinned=pinned)
    if name == "DecisionsRespond":
        original = decisions_recommend.new_interaction_id
        decisions_recommend.new_interaction_id = lambda: DEMO_INTERACTION_ID
        try:
            decision = world.call("POST", "/api/v1/recommend", REQUEST_BODIES[("POST", "/api/v1/recommend")])
        finally:
            decisions_recommend.new_interaction_id = original
        if DEMO_OFFER_ID not in [item["offerId"] for item in decision["decisions"]]:
            raise SeedError(f"the demo recommendation did not return {DEMO_OFFER_ID}: {decision}")


# The seed's game (ool-mmo) and its three offers; the create event adds summer_blade_bundle itself.
GAME_OFFERS = [
    REQUEST_BODIES[("POST", "/v2/games/{game_id}/offers")],
    {"offer_id": "health_pack_10x", "name": "10 Health Packs", "price_usd": 2.99, "grants": ["health_pack"]},
    {"offer_id": "gold_starter_500", "name": "500 Gold Starter", "price_usd": 4.99, "grants": ["gold"]},
]


def seed_game_offers(world: _World, name: str) -> None:
    """The demo game's catalog through the API (claims ool-mmo for the demo tenant) minus what the event creates;
    the feedback event also gets the recommendation its report answers."""
    for offer in GAME_OFFERS:
        if name == "CreateGameOffer" and offer["offer_id"] == DEMO_GAME_OFFER_ID:
            continue
        world.call("POST", f"/v2/games/{DEMO_OFFERS_GAME_ID}/offers", offer, expect=201)
    if name == "ReportOfferFeedback":
        shown = world.call("POST", "/v2/recommend", REQUEST_BODIES[("POST", "/v2/recommend")])
        if DEMO_GAME_OFFER_ID not in [entry["offer_id"] for entry in shown]:
            raise SeedError(f"the demo recommendation did not show {DEMO_GAME_OFFER_ID}: {shown}")
