"""Powertools `Depends` providers: each API route declares the principal (and scope) it needs."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Request
from aws_lambda_powertools.event_handler.depends import Depends

from arbiter.auth.credentials import Credential
from arbiter.auth.keys import verify_key
from arbiter.auth.models import Principal, Scope
from arbiter.errors import AuthenticationError, ForbiddenError
from arbiter.observability import logger


def _require(principal: Principal, scope: Scope) -> Principal:
    # Every later log line of the request names who made it (the key id, never the key): an on-call engineer
    # reading a 500's stack trace can tell which tenant hit it.
    logger.append_keys(tenant_id=principal.tenant_id, key_id=principal.key_id)
    if scope not in principal.scopes:
        raise ForbiddenError(f"API key lacks the '{scope.value}' scope")
    return principal


def bearer_principal(request: Request) -> Principal:
    token = Credential.BEARER.presented(request.headers)
    if token is None:
        raise AuthenticationError("Missing or malformed Authorization header; expected 'Bearer <api key>'")
    return verify_key(token)


def advertiser_principal(request: Request) -> Principal:
    return _require(bearer_principal(request), Scope.ADS_ADVERTISER)


def developer_principal(request: Request) -> Principal:
    return _require(bearer_principal(request), Scope.ADS_DEVELOPER)


def offers_principal(request: Request) -> Principal:
    api_key = Credential.API_KEY_HEADER.presented(request.headers)
    if not api_key:
        raise AuthenticationError("Missing X-API-Key header")
    return _require(verify_key(api_key), Scope.OFFERS)


def decisions_principal(request: Request) -> Principal:
    tenant_id = request.headers.get("x-tenant-id") or request.headers.get("X-Tenant-Id")
    if not tenant_id:
        raise AuthenticationError("Missing X-Tenant-Id header")
    principal = bearer_principal(request)
    if principal.tenant_id != tenant_id:
        raise AuthenticationError("X-Tenant-Id does not match the API key's tenant")
    return _require(principal, Scope.DECISIONS)


Advertiser = Annotated[Principal, Depends(advertiser_principal)]
Developer = Annotated[Principal, Depends(developer_principal)]
OffersClient = Annotated[Principal, Depends(offers_principal)]
DecisionsClient = Annotated[Principal, Depends(decisions_principal)]
