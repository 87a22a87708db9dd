"""Per warm instance snapshot of each tenant's decision catalog, so a warm recommend reads DynamoDB once.

A snapshot holds the tenant's offers (with creatives), enabled qualification rules, contact policies and
guardrails, the latest version of every decision flow and the learned model's outcome counters. It is
rebuilt when older than CATALOG_CACHE_TTL_SECONDS (settings; default 10, at most 300): a change made
through the catalog API reaches every warm instance's recommendations within that time (at once on the
instance that made it, which drops its own snapshot). Outcome counters are refreshed on the same schedule.
At most MAX_CACHED_TENANTS snapshots holding at most MAX_CACHED_CATALOG_BYTES of stored catalog JSON are kept,
least recently used evicted first.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from arbiter.bounded_cache import BoundedCache
from arbiter.decisions import repository
from arbiter.decisions.models import (
    ContactPolicyOutput,
    DecisionFlowOutput,
    GuardrailOutput,
    OfferOutput,
    QualificationRuleOutput,
)
from arbiter.settings import get_settings

# A snapshot is a tenant's whole decisions catalog and its counters: at most this many tenants' per instance.
MAX_CACHED_TENANTS = 1_000


def ttl_seconds() -> float:
    return get_settings().catalog_cache_ttl_seconds


@dataclass(frozen=True, slots=True)
class CatalogSnapshot:
    offers: tuple[OfferOutput, ...]
    rules: tuple[QualificationRuleOutput, ...]
    policies: tuple[ContactPolicyOutput, ...]
    guardrails: tuple[GuardrailOutput, ...]
    flows: dict[str, DecisionFlowOutput]
    stats: dict[str, dict[str, int]]  # offer id -> outcome -> count
    policy_version: str  # 16 hex chars: changes whenever a rule, policy or guardrail changes
    stored_bytes: int = 0  # the catalog's stored JSON (UTF-8 bytes): the cache's weight of this snapshot


# ...and at most this many bytes of stored catalog JSON across them. A tenant may store up to 10 MB
# (repository.MAX_OFFER_BYTES_PER_TENANT), and a stored byte takes 1.2-9 bytes in memory for ordinary content, up to
# ~24 for the worst shape (tracemalloc, D9): 16 MB is ~150 MB typical, ~400 MB at that worst, of the 512 MB.
MAX_CACHED_CATALOG_BYTES = 16_000_000

_snapshots: BoundedCache[str, CatalogSnapshot] = BoundedCache(
    MAX_CACHED_TENANTS,
    ttl_seconds,
    weigh=lambda snapshot: 1 + snapshot.stored_bytes,
    max_weight=MAX_CACHED_CATALOG_BYTES,
)


def build_snapshot(
    entities: list[tuple[str, dict[str, Any]]], stats: dict[str, dict[str, int]], stored_bytes: int = 0
) -> CatalogSnapshot:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for kind, body in entities:
        by_kind.setdefault(kind, []).append(body)
    governing = sorted(
        json.dumps(body, sort_keys=True) for kind in ("RULE", "POLICY", "GUARDRAIL") for body in by_kind.get(kind, [])
    )
    policy_version = hashlib.sha256("\n".join(governing).encode()).hexdigest()[:16]
    return CatalogSnapshot(
        offers=tuple(OfferOutput.model_validate(body) for body in by_kind.get("OFFER", [])),
        rules=tuple(r for r in map(QualificationRuleOutput.model_validate, by_kind.get("RULE", [])) if r.enabled),
        policies=tuple(p for p in map(ContactPolicyOutput.model_validate, by_kind.get("POLICY", [])) if p.enabled),
        guardrails=tuple(g for g in map(GuardrailOutput.model_validate, by_kind.get("GUARDRAIL", [])) if g.enabled),
        flows={body["key"]: DecisionFlowOutput.model_validate(body) for body in by_kind.get("FLOW", [])},
        stats=stats,
        policy_version=policy_version,
        stored_bytes=stored_bytes,
    )


def snapshot(tenant_id: str) -> CatalogSnapshot:
    def load() -> CatalogSnapshot:
        entities, stored_bytes = repository.load_sized_catalog(tenant_id)
        return build_snapshot(entities, repository.load_outcome_stats(tenant_id), stored_bytes)

    return _snapshots.get_or_load(tenant_id, load)


def invalidate(tenant_id: str) -> None:
    _snapshots.pop(tenant_id)


def clear() -> None:
    _snapshots.clear()
