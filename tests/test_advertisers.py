"""Advertiser registration, profile and deposits (seed 001, Advertiser Management)."""

import json

import pytest
from botocore.exceptions import ClientError

from arbiter import aws
from arbiter.ads.advertisers import logic as advertisers_logic
from arbiter.ads.advertisers.repository import MAX_BALANCE_MILLICENTS, advertiser_key
from arbiter.observability import logger

ACME = {"company_name": "Acme Corp", "contact_email": "ads@acme.com", "website": "https://acme.com"}


def test_register_returns_201_with_the_seed_profile(api, tenant_key):
    # Given a tenant key / When it registers
    response = api.post("/api/ads/register", key=tenant_key, json=ACME)
    # Then the seed's profile comes back with a zero balance
    assert response.status == 201, response.body
    body = response.json()
    assert body["id"].startswith("adv_")
    assert body["company_name"] == "Acme Corp"
    assert body["contact_email"] == "ads@acme.com"
    assert body["website"] == "https://acme.com"
    assert body["balance_cents"] == 0
    assert body["created_at"].endswith("Z")


def test_register_twice_conflicts(api, tenant_key):
    assert api.post("/api/ads/register", key=tenant_key, json=ACME).status == 201
    response = api.post("/api/ads/register", key=tenant_key, json=ACME)
    assert response.status == 409
    assert "already registered" in response.json()["detail"]


def test_missing_key_is_401_with_detail(api):
    response = api.post("/api/ads/register", json=ACME)
    assert response.status == 401
    assert response.json()["detail"]


def test_unknown_key_is_401(api, dynamodb):
    response = api.get("/api/ads/profile", key="ak_not_a_real_key")
    assert response.status == 401


def test_missing_field_is_400_and_bad_email_is_422(api, tenant_key):
    missing = api.post("/api/ads/register", key=tenant_key, json={"company_name": "Acme"})
    assert missing.status == 400
    assert "contact_email" in missing.json()["detail"]
    bad_email = api.post("/api/ads/register", key=tenant_key, json={**ACME, "contact_email": "nope"})
    assert bad_email.status == 422
    bad_website = api.post("/api/ads/register", key=tenant_key, json={**ACME, "website": "ftp://acme"})
    assert bad_website.status == 422
    assert bad_website.json()["detail"].startswith("website:")


def test_malformed_json_is_400(api, tenant_key):
    response = api.post("/api/ads/register", key=tenant_key, body="{not json")
    assert response.status == 400
    assert response.json()["detail"] == "Request body is not valid JSON"


def test_profile_patch_and_deposit(api, tenant_key):
    api.post("/api/ads/register", key=tenant_key, json=ACME)
    patched = api.patch("/api/ads/profile", key=tenant_key, json={"company_name": "Acme Corporation"})
    assert patched.status == 200
    assert patched.json()["company_name"] == "Acme Corporation"

    deposit = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 100000})
    assert deposit.status == 200
    assert deposit.json() == {"balance_cents": 100000, "deposited_cents": 100000}
    again = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 500000})
    assert again.json() == {"balance_cents": 600000, "deposited_cents": 500000}
    assert api.get("/api/ads/profile", key=tenant_key).json()["balance_cents"] == 600000


def test_deposit_must_be_a_positive_integer(api, tenant_key):
    api.post("/api/ads/register", key=tenant_key, json=ACME)
    for amount in (0, -5):
        response = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": amount})
        assert response.status == 422, amount
    fractional = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 10.5})
    assert fractional.status == 400
    assert fractional.json()["detail"] == "amount_cents: Input should be a valid integer"
    assert api.get("/api/ads/profile", key=tenant_key).json()["balance_cents"] == 0


BUSY_ERRORS = {
    # An UpdateItem on an item a billing transaction is writing, and a deposit transaction cancelled for it
    "update_item": {"Error": {"Code": "TransactionConflictException", "Message": "Transaction is ongoing"}},
    "transact_write_items": {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
    },
}


@pytest.mark.parametrize(
    ("operation", "headers"), [("update_item", {}), ("transact_write_items", {"Idempotency-Key": "d1"})]
)
def test_a_deposit_refused_for_contention_is_503_and_its_retry_credits_once(
    api, tenant_key, monkeypatch, operation, headers
):
    api.post("/api/ads/register", key=tenant_key, json=ACME)
    client = aws.dynamodb_resource().meta.client
    real = getattr(client, operation)
    refused = []

    def busy_once(**kwargs):
        if not refused:
            refused.append(kwargs)
            raise ClientError(BUSY_ERRORS[operation], operation)
        return real(**kwargs)

    monkeypatch.setattr(client, operation, busy_once)
    # When DynamoDB refuses the deposit's write because an impression is being billed on the same item
    busy = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 500}, headers=headers)
    # Then the advertiser is told to retry (not a 500), and nothing was credited
    assert busy.status == 503, busy.body
    assert busy.headers["retry-after"] == "1"
    assert "retry" in busy.json()["detail"]
    assert api.get("/api/ads/profile", key=tenant_key).json()["balance_cents"] == 0
    # And the retry credits the amount once
    retry = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 500}, headers=headers)
    assert retry.status == 200, retry.body
    assert api.get("/api/ads/profile", key=tenant_key).json()["balance_cents"] == 500


def test_profile_before_registration_is_404(api, tenant_key):
    assert api.get("/api/ads/profile", key=tenant_key).status == 404


def test_tenants_see_only_their_own_profile(api, tenant_key, other_tenant_key):
    api.post("/api/ads/register", key=tenant_key, json=ACME)
    assert api.get("/api/ads/profile", key=other_tenant_key).status == 404


def test_unknown_route_is_404_with_detail(api, tenant_key):
    response = api.get("/api/ads/nothing-here", key=tenant_key)
    assert response.status == 404
    assert response.function == "NotFoundFunction"  # the template's $default route
    assert response.json() == {"detail": "No route for GET /api/ads/nothing-here"}


def test_oversized_body_is_refused_with_413(api, tenant_key):
    response = api.post("/api/ads/register", key=tenant_key, json={**ACME, "company_name": "x" * 70_000})
    assert response.status == 413


def test_a_deposit_retried_with_its_idempotency_key_is_credited_once(api, tenant_key):
    # Given a registered advertiser
    api.post("/api/ads/register", key=tenant_key, json=ACME)
    headers = {"Idempotency-Key": "wire-2026-11-22-001"}

    # When the same deposit is sent twice with one Idempotency-Key (a retry after a lost response)
    first = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 5000}, headers=headers)
    retry = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 5000}, headers=headers)

    # Then the balance is credited once, and the retry answers as the first did
    assert first.status == 200, first.body
    assert first.json() == {"balance_cents": 5000, "deposited_cents": 5000}
    assert retry.status == 200, retry.body
    assert retry.json() == first.json()
    assert api.get("/api/ads/profile", key=tenant_key).json()["balance_cents"] == 5000
    # And another key is another deposit; the same key for another amount is refused, crediting nothing
    other = api.post(
        "/api/ads/deposit", key=tenant_key, json={"amount_cents": 5000}, headers={"Idempotency-Key": "wire-002"}
    )
    assert other.json() == {"balance_cents": 10000, "deposited_cents": 5000}
    reused = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 7000}, headers=headers)
    assert reused.status == 409, reused.body
    assert reused.json()["detail"] == "Idempotency-Key was already used for a deposit of another amount"
    assert api.get("/api/ads/profile", key=tenant_key).json()["balance_cents"] == 10000


def test_idempotency_keys_are_per_account(api, tenant_key, other_tenant_key):
    # Given two advertisers using the same Idempotency-Key
    for key in (tenant_key, other_tenant_key):
        api.post("/api/ads/register", key=key, json=ACME)
    headers = {"Idempotency-Key": "deposit-1"}

    # When each deposits with it
    mine = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 100}, headers=headers)
    theirs = api.post("/api/ads/deposit", key=other_tenant_key, json={"amount_cents": 300}, headers=headers)

    # Then both are credited, each to its own balance
    assert mine.json() == {"balance_cents": 100, "deposited_cents": 100}
    assert theirs.json() == {"balance_cents": 300, "deposited_cents": 300}


def test_a_keyed_deposit_before_registration_is_404_and_writes_nothing(api, tenant_key):
    response = api.post(
        "/api/ads/deposit", key=tenant_key, json={"amount_cents": 100}, headers={"Idempotency-Key": "k1"}
    )
    assert response.status == 404
    assert response.json()["detail"] == "Advertiser not registered; call POST /api/ads/register first"
    # The receipt was not kept: after registering, the same key deposits
    api.post("/api/ads/register", key=tenant_key, json=ACME)
    retry = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 100}, headers={"Idempotency-Key": "k1"})
    assert retry.json() == {"balance_cents": 100, "deposited_cents": 100}


def test_the_balance_stops_at_one_billion_dollars_so_its_json_stays_exact(api, tenant_key):
    # Given a balance 0.01 USD short of the ceiling (written directly)
    api.post("/api/ads/register", key=tenant_key, json=ACME)
    ceiling_cents = MAX_BALANCE_MILLICENTS // 1000
    aws.campaigns_table().update_item(
        Key=advertiser_key("tenant-a"),
        UpdateExpression="SET balance_millicents = :b",
        ExpressionAttributeValues={":b": MAX_BALANCE_MILLICENTS - 1000},
    )

    # When deposits would pass it, with and without an Idempotency-Key
    over = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 2})
    keyed_over = api.post(
        "/api/ads/deposit", key=tenant_key, json={"amount_cents": 2}, headers={"Idempotency-Key": "k-over"}
    )
    exact = api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 1})

    # Then they are refused and nothing is credited; a deposit up to the ceiling is taken, and read back exactly
    for refused in (over, keyed_over):
        assert refused.status == 409, refused.body
        assert refused.json()["detail"].startswith("Deposit would take the balance above 1,000,000,000.00 USD")
    assert exact.status == 200, exact.body
    assert exact.json() == {"balance_cents": ceiling_cents, "deposited_cents": 1}
    assert api.get("/api/ads/profile", key=tenant_key).json()["balance_cents"] == ceiling_cents


def test_a_500s_log_line_names_the_tenant_and_key_but_never_the_key_itself(api, tenant_key, monkeypatch, caplog):
    # Given a bug behind an authenticated route
    def broken(principal):
        raise RuntimeError("a bug")

    monkeypatch.setattr(advertisers_logic, "get_profile", broken)
    # When it is called
    response = api.get("/api/ads/profile", key=tenant_key)
    # Then the caller learns nothing internal, and the stack-trace line (as the function's JSON log formats it)
    # says who hit it
    assert response.status == 500 and response.json() == {"detail": "Internal server error"}
    record = next(record for record in caplog.records if record.getMessage() == "unhandled error")
    line = json.loads(logger.registered_formatter.format(record))
    assert line["tenant_id"] == "tenant-a"
    assert line["key_id"].startswith("key_")
    assert tenant_key not in json.dumps(line)
