"""Customer identity and experiment assignment: both are keyed hashes, so they are stable across calls."""

from hashlib import blake2b

from arbiter.core import stable_uniform

ANONYMOUS = "anonymous"


def anonymous_id(tenant_id: str, session_id: str | None, source_ip: str, user_agent: str) -> str:
    """Seed 002: from sessionId when given, else from the request IP + user agent (per tenant, not reversible)."""
    seed = f"session:{session_id}" if session_id else f"client:{source_ip}|{user_agent}"
    return "anon_" + blake2b(f"{tenant_id}|{seed}".encode(), digest_size=12).hexdigest()


def flow_salt(tenant_id: str, flow_key: str) -> int:
    return int.from_bytes(blake2b(f"{tenant_id}|{flow_key}".encode(), digest_size=8).digest(), "little")


def assign_variant(
    tenant_id: str, flow_key: str, customer_id: str, challenger_share: float, holdout_share: float
) -> str:
    """holdout for u < holdoutShare, challenger for the next challengerShare, else champion (u uniform in [0, 1))."""
    u = stable_uniform(flow_salt(tenant_id, flow_key), customer_id)
    if u < holdout_share:
        return "holdout"
    if u < holdout_share + challenger_share:
        return "challenger"
    return "champion"
