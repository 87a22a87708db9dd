"""Runtime configuration, read once from environment variables (set by template.yaml or the local stack)."""

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    campaigns_table: str = Field(default="arbiter-campaigns", alias="CAMPAIGNS_TABLE")
    impressions_table: str = Field(default="arbiter-impressions", alias="IMPRESSIONS_TABLE")
    interactions_table: str = Field(default="arbiter-interactions", alias="INTERACTIONS_TABLE")
    # Points boto3 at the local stack's embedded DynamoDB; unset on AWS.
    dynamodb_endpoint_url: str | None = Field(default=None, alias="DYNAMODB_ENDPOINT_URL")
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")
    # How long a verified API key is trusted from memory; a revoked key stops working within this time.
    api_key_cache_ttl_seconds: float = Field(default=30.0, alias="API_KEY_CACHE_TTL_SECONDS", ge=0, le=60)
    # Requests larger than this are refused with 413 before any parsing.
    max_body_bytes: int = Field(default=64 * 1024, alias="MAX_BODY_BYTES", gt=0)
    # Signs /match impression tokens. In AWS the template passes the ARN of a Secrets Manager secret
    # (ads.tokens reads it, and the version a rotation replaced); the local stack and tests set the key itself.
    impression_token_secret: str | None = Field(default=None, alias="IMPRESSION_TOKEN_SECRET", repr=False)
    impression_token_secret_arn: str | None = Field(default=None, alias="IMPRESSION_TOKEN_SECRET_ARN")
    impression_token_ttl_seconds: int = Field(default=900, alias="IMPRESSION_TOKEN_TTL_SECONDS", gt=0, le=86400)
    # How old /match's in-memory snapshot of active campaigns and placements may get (docs/decisions.md D8).
    candidate_cache_ttl_seconds: float = Field(default=15.0, alias="CANDIDATE_CACHE_TTL_SECONDS", ge=0, le=300)
    # How old the decisions catalog snapshot may get (D9).
    catalog_cache_ttl_seconds: float = Field(default=10.0, alias="CATALOG_CACHE_TTL_SECONDS", ge=0, le=300)
    # Per-key request limits (seed 001 "Rate Limits"); off only for load tests against a private stack.
    rate_limits_enabled: bool = Field(default=True, alias="RATE_LIMITS_ENABLED")


@cache
def get_settings() -> Settings:
    return Settings()
