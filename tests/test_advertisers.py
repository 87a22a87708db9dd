"""Advertiser registration, profile and deposits (seed 001, Advertiser Management)."""

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
    assert fractional.status in (400, 422)
    assert api.get("/api/ads/profile", key=tenant_key).json()["balance_cents"] == 0


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
