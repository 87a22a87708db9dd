"""Domain and DB-item models of API keys."""

from enum import StrEnum

from pydantic import BaseModel, Field


class Scope(StrEnum):
    ADS_ADVERTISER = "ads:advertiser"  # manage an advertiser account, its campaigns and their reports
    ADS_DEVELOPER = "ads:developer"  # manage game placements, call /match and /impressions, read earnings
    OFFERS = "offers"  # /v2/recommend, /v1/feedback and the game offer catalog
    DECISIONS = "decisions"  # /api/v1/recommend, /api/v1/respond and the decision catalog


ALL_SCOPES = tuple(Scope)


class Principal(BaseModel, frozen=True):
    """Who a request acts as: one tenant, through one key, with that key's scopes."""

    tenant_id: str
    key_id: str
    scopes: frozenset[Scope]


class ApiKeyRecord(BaseModel):
    """An API key as stored: the secret itself is never kept, only its SHA-256."""

    key_id: str
    key_hash: str
    tenant_id: str
    scopes: list[Scope]
    created_at: str
    revoked_at: str | None = None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class CreatedApiKey(BaseModel):
    """Shown once, at creation: the only time the secret exists outside the caller's hands."""

    api_key: str
    key_id: str
    tenant_id: str
    scopes: list[Scope] = Field(default_factory=list)
