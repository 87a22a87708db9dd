"""Per-instance caches are bounded and TTL'd (arbiter.bounded_cache): the mechanism itself, and the caches whose
keys a client chooses (offers catalogs by game id, learner models by game id, verified API keys)."""

import random
import threading

import pytest

from arbiter import aws, clock
from arbiter.auth import keys
from arbiter.auth import repository as auth_repository
from arbiter.auth.models import ApiKeyRecord
from arbiter.bounded_cache import BoundedCache
from arbiter.learning import model, store
from arbiter.learning.exposure import Exposure
from arbiter.learning.features import OfferFeatures, context_features
from arbiter.offers import catalog as offers_catalog
from arbiter.offers import repository as offers_repository

MISSING = object()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


# --- The mechanism ------------------------------------------------------------------------------------------


def test_an_entry_is_served_until_its_ttl_and_never_after(fake_clock):
    # Given a cache with a 5 s TTL and one entry
    cache = BoundedCache(10, 5.0, clock=fake_clock)
    cache.put("a", 1)

    # Then it is served up to just before 5 s, and not at 5 s or later
    fake_clock.now += 4.999
    assert cache.get("a") == 1
    assert cache.peek("a") == 1
    fake_clock.now += 0.001
    assert cache.get("a") is None
    assert cache.get("a", MISSING) is MISSING
    assert cache.peek("a", MISSING) is MISSING


def test_a_per_lookup_max_age_and_a_ttl_read_at_each_lookup(fake_clock):
    # Given a cache whose TTL is a setting that can change
    ttl = [10.0]
    cache = BoundedCache(10, lambda: ttl[0], clock=fake_clock)
    cache.put("a", 1)
    fake_clock.now += 3

    # Then a caller's max_age wins over the TTL, and a lowered setting applies to entries already stored
    assert cache.get("a", max_age=2) is None
    assert cache.get("a") == 1
    ttl[0] = 3.0
    assert cache.get("a") is None


def test_the_least_recently_used_entry_is_evicted_first(fake_clock):
    # Given a full cache of three, where "a" (the oldest) was just read
    cache = BoundedCache(3, 60.0, clock=fake_clock)
    for key in "abc":
        cache.put(key, key.upper())
    assert cache.get("a") == "A"

    # When a fourth entry is stored
    cache.put("d", "D")

    # Then "b", now the least recently used, is the one evicted
    assert len(cache) == 3
    assert [cache.get(key) for key in "abcd"] == ["A", None, "C", "D"]


def test_peek_and_mutate_leave_recency_as_it_was(fake_clock):
    # Given a full cache of two, "a" stored first
    cache = BoundedCache(2, 60.0, clock=fake_clock)
    cache.put("a", [1])
    cache.put("b", [2])

    # When "a" is peeked at and mutated
    assert cache.peek("a") == [1]
    assert cache.mutate("a", lambda value: value.append(10)) is True

    # Then its value changed, but it is still evicted first, in the order of put
    assert cache.peek("a") == [1, 10]
    cache.put("c", [3])
    assert cache.get("a") is None and cache.get("b") == [2]
    # And mutating an absent key does nothing
    assert cache.mutate("zz", lambda value: value.append(0)) is False


def test_storing_a_key_again_refreshes_its_age_and_recency(fake_clock):
    cache = BoundedCache(2, 5.0, clock=fake_clock)
    cache.put("a", 1)
    cache.put("b", 2)
    fake_clock.now += 4
    cache.put("a", 3)
    fake_clock.now += 4
    cache.put("c", 4)
    assert [cache.get(key) for key in "abc"] == [3, None, 4]


def test_the_bound_holds_for_any_number_of_keys(fake_clock):
    cache = BoundedCache(100, 60.0, clock=fake_clock)
    for n in range(10_000):
        cache.put(f"key-{n}", n)
    assert len(cache) == 100
    assert cache.get("key-9999") == 9999 and cache.get("key-9899") is None


def test_get_or_load_loads_once_per_ttl_and_ages_the_value_from_before_its_load(fake_clock):
    # Given a load that takes 2 s and finds nothing (None is a value too: an unknown game)
    cache = BoundedCache(10, 5.0, clock=fake_clock)
    loads = []

    def load():
        loads.append(fake_clock.now)
        fake_clock.now += 2
        return None

    # When it is asked for repeatedly
    assert cache.get_or_load("unknown", load) is None
    assert cache.get_or_load("unknown", load) is None

    # Then it loaded once; the value expires 5 s after the load began, not after it ended
    assert len(loads) == 1
    fake_clock.now += 2.999
    assert cache.get_or_load("unknown", load) is None
    assert len(loads) == 1
    fake_clock.now += 0.001
    cache.get_or_load("unknown", load)
    assert len(loads) == 2


def test_a_failed_load_stores_nothing(fake_clock):
    cache = BoundedCache(10, 5.0, clock=fake_clock)

    def load():
        raise LookupError("not found")

    with pytest.raises(LookupError):
        cache.get_or_load("a", load)
    assert len(cache) == 0


def test_pop_and_clear(fake_clock):
    cache = BoundedCache(10, 5.0, clock=fake_clock)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.pop("a")
    cache.pop("never-stored")
    assert cache.get("a") is None and cache.get("b") == 2
    cache.clear()
    assert len(cache) == 0


def test_the_total_weight_is_bounded_and_the_newest_entry_is_kept(fake_clock):
    # Given a cache of at most 10 entries weighing at most 10 in all (each value weighs its length)
    cache = BoundedCache(10, 60.0, clock=fake_clock, weigh=len, max_weight=10)
    for key in "abcd":
        cache.put(key, "xx")  # 4 entries, weight 8

    # When a heavy entry arrives, the least recently used go until the total fits
    cache.get("a")  # a is now more recent than b, c, d
    cache.put("e", "xxxxx")

    # Then b and c went (8 + 5 - 4 = 9 <= 10); a, d and e stay
    assert [key for key in "abcde" if cache.peek(key) is not None] == ["a", "d", "e"]
    assert cache.weight == 9

    # And an entry heavier than the bound is still kept, alone
    cache.put("f", "x" * 25)
    assert [key for key in "abcdef" if cache.peek(key) is not None] == ["f"]
    assert cache.weight == 25

    # And a value that grows in place counts its new weight, evicting others (never itself)
    cache.put("g", [1])
    cache.put("h", [1, 2])
    cache.mutate("g", lambda value: value.extend(range(8)))
    assert cache.peek("g") is not None and cache.peek("h") is None
    assert cache.weight == 9


def test_a_bound_below_one_is_refused():
    with pytest.raises(ValueError):
        BoundedCache(0, 5.0)


def test_threads_sharing_a_cache_keep_it_bounded_and_consistent():
    # Given 8 threads storing, reading, mutating and dropping overlapping keys of one small cache
    cache = BoundedCache(50, 60.0)
    errors = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(3_000):
                key = rng.randrange(200)
                choice = rng.random()
                if choice < 0.4:
                    cache.put(key, [key])
                elif choice < 0.8:
                    found = cache.get_or_load(key, lambda key=key: [key])
                    assert found[0] == key
                elif choice < 0.95:
                    cache.mutate(key, lambda value: value.append(value[0]))
                else:
                    cache.pop(key)
        except Exception as error:  # collected for the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then nothing failed and the bound held
    assert errors == []
    assert len(cache) <= 50


# --- Offers catalogs (game id -> catalog, or None for a game nobody claimed) --------------------------------

OFFER = {"offer_id": "health_pack_10x", "name": "10 Health Packs", "price_usd": 2.99, "grants": ["health_pack"]}


@pytest.fixture
def fresh_offers_caches():
    offers_catalog.forget_catalogs()
    store.forget_models()
    yield
    offers_catalog.forget_catalogs()
    store.forget_models()


def counted_catalog_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    real = offers_repository.read_catalog
    monkeypatch.setattr(offers_repository, "read_catalog", lambda game_id: reads.append(game_id) or real(game_id))
    return reads


def test_a_stream_of_unknown_game_ids_keeps_the_catalog_cache_at_its_bound(dynamodb, fresh_offers_caches):
    # Given an instance that has seen no game
    # When 2,500 different game ids nobody claimed are looked up (each a 404 at /v2/recommend and /v1/feedback)
    for n in range(2_500):
        assert offers_catalog.cached_catalog(f"unknown-game-{n}") is None

    # Then at most the documented 2,000 are kept (docs/decisions.md D14), the most recent ones
    assert len(offers_catalog._cache) == 2_000
    assert offers_catalog.MAX_CACHED_CATALOGS == 2_000
    assert offers_catalog._cache.peek("unknown-game-2499", MISSING) is None
    assert offers_catalog._cache.peek("unknown-game-0", MISSING) is MISSING


def test_a_known_game_evicted_by_unknown_ids_is_read_again_and_answers_as_before(
    api, tenant_key, fresh_offers_caches, monkeypatch
):
    # Given a game with an offer, recommended once (its catalog cached), on an instance keeping 20 catalogs
    monkeypatch.setattr(offers_catalog._cache, "max_entries", 20)
    headers = {"X-API-Key": tenant_key}
    assert api.post("/v2/games/ool-mmo/offers", json=OFFER, headers=headers).status == 201
    request = {"game_id": "ool-mmo", "player_id": "player_8a2f", "session_context": {"level": 3}}
    first = api.post("/v2/recommend", json=request, headers=headers)
    assert first.status == 200 and [entry["offer_id"] for entry in first.json()] == ["health_pack_10x"]
    reads = counted_catalog_reads(monkeypatch)

    # When 60 requests name game ids nobody claimed
    for n in range(30):
        assert api.post("/v2/recommend", json={**request, "game_id": f"nobody-{n}"}, headers=headers).status == 404
        feedback = {"game_id": f"nobody-x{n}", "player_id": "p", "offer_id": "o", "outcome": "dismissed"}
        assert api.post("/v1/feedback", json=feedback, headers=headers).status == 404

    # Then the cache holds 20 games and the known game was evicted
    assert len(offers_catalog._cache) == 20
    assert offers_catalog._cache.peek("ool-mmo", MISSING) is MISSING

    # When the game is recommended again
    again = api.post("/v2/recommend", json={**request, "player_id": "player_77"}, headers=headers)

    # Then its catalog is read once more and the answer is what it was
    assert again.status == 200 and [entry["offer_id"] for entry in again.json()] == ["health_pack_10x"]
    assert reads.count("ool-mmo") == 1 and len(reads) == 61


# --- Learner models (game id -> model) ----------------------------------------------------------------------

SWORD = OfferFeatures("summer_blade_bundle", 9.99, ("legendary_sword",))
CONTEXT = context_features({"level": 34, "segment": "mid-spender"})


def test_the_model_cache_keeps_at_most_its_bound(dynamodb, fresh_offers_caches):
    # Given an instance (the expiry sweep's, say) that loads the models of 300 games
    for n in range(300):
        store.load_model(f"game-{n}")

    # Then at most the documented 256 stay in memory (docs/decisions.md D14), the most recently used
    assert len(store._cache) == 256
    assert store.MAX_CACHED_MODELS == 256
    assert store._cache.peek("game-299") is not None and store._cache.peek("game-0") is None


def test_an_instances_own_update_reaches_its_cached_model_and_an_evicted_one_is_read_back(
    dynamodb, fresh_offers_caches, fast_transactions, monkeypatch
):
    # Given a game's model cached on an instance that keeps 3 models
    monkeypatch.setattr(store._cache, "max_entries", 3)
    exposure = Exposure("int_1", SWORD, CONTEXT, True, clock.now())
    features = exposure.features()
    cold = model.predictive_conversion(store.load_model("ool-mmo"), features)
    store.record_recommendation("ool-mmo", "p1", [exposure])

    # When a conversion is reported on this instance
    assert store.report_outcome("ool-mmo", "p1", SWORD.offer_id, "converted").status == "applied"

    # Then the cached model has the update, without a read
    cached = store._cache.peek("ool-mmo")
    assert cached is not None and model.predictive_conversion(cached, features) > cold
    warm = model.predictive_conversion(cached, features)

    # When three other games push it out, and it is loaded again
    for game in ("a", "b", "c"):
        store.load_model(game)
    assert store._cache.peek("ool-mmo") is None
    calls: list[str] = []
    aws.dynamodb_client().meta.events.register("before-call.dynamodb.*", lambda event_name, **_: calls.append(1))
    reloaded = store.load_model("ool-mmo")

    # Then it is read from DynamoDB (one Query) with the same update in it
    assert len(calls) == 1
    assert model.predictive_conversion(reloaded, features) == pytest.approx(warm, rel=1e-9)


# --- Verified API keys (key hash -> principal) --------------------------------------------------------------


def test_the_verified_key_cache_keeps_at_most_its_bound(monkeypatch):
    # Given a key table where every key is valid (a tenant with very many keys)
    def get_key(key_hash: str) -> ApiKeyRecord:
        return ApiKeyRecord(
            key_id=f"key_{key_hash[:8]}", key_hash=key_hash, tenant_id="t", scopes=["offers"], created_at="2026"
        )

    monkeypatch.setattr(auth_repository, "get_key", get_key)
    keys.forget_verified_keys()
    try:
        # When 10,500 different keys are verified on one instance
        for n in range(10_500):
            assert keys.verify_key(f"ak_{n}").tenant_id == "t"

        # Then at most the documented 10,000 stay cached (docs/decisions.md D14)
        assert len(keys._verified) == 10_000
        assert keys.VERIFIED_CACHE_MAX == 10_000
    finally:
        keys.forget_verified_keys()


def test_the_catalog_and_model_caches_bound_what_their_memory_grows_with():
    # The offers held across cached catalogs, and the features across cached models (docs/decisions.md D14)
    assert offers_catalog._cache.max_weight == offers_catalog.MAX_CACHED_OFFERS == 20_000
    assert store._cache.max_weight == store.MAX_CACHED_FEATURES == 400_000


def test_decisions_snapshots_weigh_their_stored_catalog_and_the_bound_holds(
    api, tenant_key, other_tenant_key, monkeypatch
):
    from arbiter.decisions import cache as decisions_cache
    from arbiter.decisions import repository as decisions_repository
    from tests.test_decisions_api import creative, post

    # Given two tenants whose catalogs are each one offer with a large creative
    for key, tenant in ((tenant_key, "tenant-a"), (other_tenant_key, "tenant-b")):
        offer = {"name": f"Offer of {tenant}", "creatives": [creative("Hero", content={"body": "x" * 19_000})]}
        response = post(api, key, "/api/v1/offers", offer, tenant=tenant)
        assert response.status == 201, response.body
    decisions_cache.clear()
    _, stored_a = decisions_repository.load_sized_catalog("tenant-a")
    assert stored_a > 19_000

    # When the cache may hold less than both catalogs' stored bytes and both tenants' snapshots are built
    monkeypatch.setattr(decisions_cache._snapshots, "max_weight", stored_a + stored_a // 2)
    first = decisions_cache.snapshot("tenant-a")
    decisions_cache.snapshot("tenant-b")

    # Then each snapshot weighs its stored catalog, and the older one was evicted to keep the bound
    assert first.stored_bytes == stored_a
    assert decisions_cache._snapshots.weight <= decisions_cache._snapshots.max_weight
    assert decisions_cache._snapshots.peek("tenant-a") is None
    assert decisions_cache._snapshots.peek("tenant-b") is not None
