"""Campaigns: create, list, get, update, activate, pause (seed 001, Campaigns; decisions D5)."""

import pytest
from boto3.dynamodb.conditions import Key

from arbiter import aws
from arbiter.ads.campaigns import logic as campaigns_logic
from arbiter.ads.campaigns import repository
from tests.ads_fixtures import (
    SUMMER_LAUNCH,
    active_campaign,
    add_creative,
    campaign_item,
    create_campaign,
    funded_campaign,
    ledger_item,
    register_advertiser,
    set_ledger,
    ticking_clock,
)

CAMPAIGNS = "/api/ads/campaigns"


def test_create_returns_201_with_the_seed_campaign(api, tenant_key):
    # Given a registered advertiser
    advertiser = register_advertiser(api, tenant_key)
    # When it creates the seed's campaign
    response = api.post(CAMPAIGNS, key=tenant_key, json=SUMMER_LAUNCH)
    # Then the seed's campaign object comes back as a draft with nothing spent
    assert response.status == 201, response.body
    body = response.json()
    assert body["id"].startswith("camp_")
    assert body["status"] == "draft"
    assert body["spent_cents"] == 0
    assert body["advertiser_id"] == advertiser["id"]
    assert body["created_at"].endswith("Z")
    for field, value in SUMMER_LAUNCH.items():
        assert body[field] == value, field


def test_create_writes_campaign_and_ledger_items(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    meta, ledger = campaign_item(campaign["id"]), ledger_item(campaign["id"])
    # Money is stored as integer millicents; the ledger carries a copy of the budget.
    assert meta["budget_millicents"] == 500_000_000
    assert meta["daily_cap_millicents"] == 25_000_000
    assert ledger["budget_millicents"] == 500_000_000
    assert ledger["spent_millicents"] == 0
    assert ledger["day_spent_millicents"] == 0
    assert ledger["spend_day"] == campaign["created_at"][:10]
    # Both sit under the tenant's listing keys; a draft is not in the serving index.
    assert meta["GSI1PK"] == ledger["GSI1PK"] == "TENANT#tenant-a#CAMPAIGNS"
    assert meta["GSI1SK"] == ledger["GSI1SK"] == f"{campaign['created_at']}#{campaign['id']}"
    assert "GSI2PK" not in meta
    assert meta["creatives"] == meta["geo_targets"] == meta["blocklist"] == meta["affinities"] == {}


def test_create_applies_defaults_and_normalizes_dates(api, tenant_key):
    register_advertiser(api, tenant_key)
    minimal = api.post(
        CAMPAIGNS,
        key=tenant_key,
        json={"name": "Minimal", "budget_cents": 1000, "cpm_bid_cents": 100, "ad_category": "finance"},
    )
    assert minimal.status == 201, minimal.body
    body = minimal.json()
    assert body["priority"] == 5
    assert body["daily_cap_cents"] is None
    assert body["start_date"] is None and body["end_date"] is None
    assert body["target_categories"] == [] and body["target_tags"] == []
    assert body["ad_category"] == "finance"
    # Dates are stored and shown in UTC with a trailing Z
    dated = create_campaign(api, tenant_key, start_date="2026-06-01T02:00:00+02:00", end_date="2026-07-01")
    assert dated["start_date"] == "2026-06-01T00:00:00Z"
    assert dated["end_date"] == "2026-07-01T00:00:00Z"


def test_create_requires_advertiser_registration(api, tenant_key):
    response = api.post(CAMPAIGNS, key=tenant_key, json=SUMMER_LAUNCH)
    assert response.status == 404
    assert "register" in response.json()["detail"]


def test_missing_auth_is_401(api, dynamodb):
    assert api.post(CAMPAIGNS, json=SUMMER_LAUNCH).status == 401
    assert api.get(CAMPAIGNS).status == 401
    assert api.get(f"{CAMPAIGNS}/camp_abc").status == 401
    assert api.post(f"{CAMPAIGNS}/camp_abc/activate").status == 401


def test_invalid_campaign_input_is_refused_and_nothing_is_written(api, tenant_key):
    register_advertiser(api, tenant_key)
    out_of_range = [
        {"cpm_bid_cents": 99},
        {"cpm_bid_cents": 10001},
        {"priority": 11},
        {"priority": -1},
        {"budget_cents": 0},
        {"daily_cap_cents": 0},
        {"end_date": "2026-05-31T00:00:00Z"},  # before start_date
        {"end_date": SUMMER_LAUNCH["start_date"]},  # not after it either
        {"start_date": "next tuesday"},
        {"start_date": "0001-01-01T00:00:00+01:00"},  # before the first representable instant in UTC
        {"end_date": "9999-12-31T23:00:00-02:00"},  # after the last
        {"target_tags": ["x"] * 51},
        {"target_categories": ["x" * 65]},
        {"target_categories": ["🎮"]},  # no letter or digit: would normalize to nothing and target every category
        {"target_tags": ["!!!"]},
        {"name": ""},
    ]
    for override in out_of_range:
        response = api.post(CAMPAIGNS, key=tenant_key, json={**SUMMER_LAUNCH, **override})
        assert response.status == 422, (override, response.body)
        assert response.json()["detail"]
    malformed = [
        {k: v for k, v in SUMMER_LAUNCH.items() if k != "name"},
        {**SUMMER_LAUNCH, "budget_cents": "500000"},
        {**SUMMER_LAUNCH, "cpm_bid_cents": 250.5},
    ]
    for body in malformed:
        response = api.post(CAMPAIGNS, key=tenant_key, json=body)
        assert response.status == 400, (body, response.body)
    assert api.get(CAMPAIGNS, key=tenant_key).json() == []
    reversed_dates = api.post(CAMPAIGNS, key=tenant_key, json={**SUMMER_LAUNCH, "end_date": "2026-01-01T00:00:00Z"})
    assert "end_date must be after start_date" in reversed_dates.json()["detail"]


def test_list_is_newest_first_and_per_tenant(api, tenant_key, other_tenant_key):
    # Given two tenants with campaigns created one second apart
    register_advertiser(api, tenant_key)
    register_advertiser(api, other_tenant_key)
    with ticking_clock():
        first = create_campaign(api, tenant_key, name="First")
        foreign = create_campaign(api, other_tenant_key, name="Theirs")
        second = create_campaign(api, tenant_key, name="Second")
    # When tenant A lists its campaigns
    response = api.get(CAMPAIGNS, key=tenant_key)
    # Then it sees only its own, newest first, each as a full campaign object
    assert response.status == 200
    listed = response.json()
    assert [c["id"] for c in listed] == [second["id"], first["id"]]
    assert listed[0] == second
    assert foreign["id"] not in {c["id"] for c in listed}


def test_get_returns_spend_from_the_ledger(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    set_ledger(campaign["id"], spent_millicents=38_075_250)
    response = api.get(f"{CAMPAIGNS}/{campaign['id']}", key=tenant_key)
    assert response.status == 200
    body = response.json()
    assert body["spent_cents"] == 38075.25
    assert {k: v for k, v in body.items() if k != "spent_cents"} == {
        k: v for k, v in campaign.items() if k != "spent_cents"
    }


def test_unknown_campaign_is_404_and_foreign_is_403(api, tenant_key, other_tenant_key):
    campaign = funded_campaign(api, tenant_key)
    register_advertiser(api, other_tenant_key)
    for path in (f"{CAMPAIGNS}/camp_doesnotexist", f"{CAMPAIGNS}/not-an-id", f"{CAMPAIGNS}/camp_{'x' * 2000}"):
        assert api.get(path, key=tenant_key).status == 404, path
    unknown = f"{CAMPAIGNS}/camp_doesnotexist"
    assert api.patch(unknown, key=tenant_key, json={"name": "x"}).status == 404
    assert api.post(f"{unknown}/activate", key=tenant_key).status == 404
    assert api.post(f"{unknown}/pause", key=tenant_key).status == 404
    foreign = api.get(f"{CAMPAIGNS}/{campaign['id']}", key=other_tenant_key)
    assert foreign.status == 403
    assert foreign.json()["detail"]


def test_dates_keep_their_sub_second_precision_and_take_a_lowercase_z(api, tenant_key):
    # Given a window shorter than a second, and an RFC 3339 date with a lowercase z
    register_advertiser(api, tenant_key)
    campaign = create_campaign(
        api, tenant_key, start_date="2026-06-01T00:00:00.123456Z", end_date="2026-06-01T00:00:00.9z"
    )
    # Then it is kept as sent (in UTC with a Z), not collapsed into one second and refused as ending at its start
    assert (campaign["start_date"], campaign["end_date"]) == ("2026-06-01T00:00:00.123456Z", "2026-06-01T00:00:00.9Z")
    pacing = api.get(f"{CAMPAIGNS}/{campaign['id']}/analytics/pacing", key=tenant_key)
    assert pacing.status == 200, pacing.body


def test_a_campaign_dated_before_year_1000_reads_back_everywhere(api, tenant_key):
    # Given a campaign starting in year 1 (glibc's strftime wrote it "1-01-01T00:00:00Z", which nothing parses)
    campaign = funded_campaign(api, tenant_key, start_date="0001-01-01", end_date="0999-12-31T23:59:59Z")

    # Then it is stored and returned as ISO 8601 with a four-digit year
    assert campaign["start_date"] == "0001-01-01T00:00:00Z"
    assert campaign["end_date"] == "0999-12-31T23:59:59Z"
    assert campaign_item(campaign["id"])["start_date"] == "0001-01-01T00:00:00Z"
    # And the routes that parse it back answer (they were 500)
    pacing = api.get(f"{CAMPAIGNS}/{campaign['id']}/analytics/pacing", key=tenant_key)
    assert pacing.status == 200, pacing.body
    options = api.get(f"{CAMPAIGNS}/{campaign['id']}/simulate/options", key=tenant_key)
    assert options.status == 200, options.body
    # Also when it ends at midnight of year 1, the earliest instant an ISO date can name
    ended = create_campaign(api, tenant_key, start_date=None, end_date="0001-01-01", daily_cap_cents=None)
    pacing = api.get(f"{CAMPAIGNS}/{ended['id']}/analytics/pacing", key=tenant_key)
    assert pacing.status == 200, pacing.body


def test_a_budget_or_daily_cap_that_cannot_pay_one_impression_is_refused(api, tenant_key):
    # Given a campaign bidding a 50-dollar CPM (one impression costs 5 cents) with a 5-cent daily cap
    register_advertiser(api, tenant_key)
    campaign = create_campaign(api, tenant_key, cpm_bid_cents=5000, daily_cap_cents=5)
    path = f"{CAMPAIGNS}/{campaign['id']}"

    # When a cap or budget below one impression is asked for: at create, by lowering the cap, by raising the bid
    top_bid = {**SUMMER_LAUNCH, "cpm_bid_cents": 10000}
    too_small_cap = api.post(CAMPAIGNS, key=tenant_key, json={**top_bid, "daily_cap_cents": 9})
    too_small_budget = api.post(CAMPAIGNS, key=tenant_key, json={**top_bid, "budget_cents": 5})
    lowered_cap = api.patch(path, key=tenant_key, json={"daily_cap_cents": 4})
    raised_bid = api.patch(path, key=tenant_key, json={"cpm_bid_cents": 10000})

    # Then each is 422 with the reason (such a campaign stayed active forever without serving), nothing changed
    for refused, field in (
        (too_small_cap, "daily_cap_cents"),
        (too_small_budget, "budget_cents"),
        (lowered_cap, "daily_cap_cents"),
        (raised_bid, "daily_cap_cents"),
    ):
        assert refused.status == 422, refused.body
        assert f"{field} must cover at least one impression at cpm_bid_cents" in refused.json()["detail"]
    assert api.get(path, key=tenant_key).json() == campaign
    # And without a cap the bid can rise
    assert api.patch(path, key=tenant_key, json={"daily_cap_cents": None}).status == 200
    assert api.patch(path, key=tenant_key, json={"cpm_bid_cents": 10000}).status == 200


def test_patch_updates_only_the_given_fields(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    # The seed's example: raise the budget and the bid
    response = api.patch(
        f"{CAMPAIGNS}/{campaign['id']}", key=tenant_key, json={"budget_cents": 750000, "cpm_bid_cents": 300}
    )
    assert response.status == 200, response.body
    body = response.json()
    assert body["budget_cents"] == 750000
    assert body["cpm_bid_cents"] == 300
    unchanged = {k for k in campaign if k not in ("budget_cents", "cpm_bid_cents")}
    assert {k: body[k] for k in unchanged} == {k: campaign[k] for k in unchanged}
    # The ledger's copy of the budget moved with it
    assert ledger_item(campaign["id"])["budget_millicents"] == 750_000_000
    assert api.get(f"{CAMPAIGNS}/{campaign['id']}", key=tenant_key).json() == body


def test_a_misspelt_field_is_refused_not_ignored(api, tenant_key):
    # Given a campaign
    campaign = funded_campaign(api, tenant_key)

    # When an update misspells budget_cents (and a create misspells cpm_bid_cents)
    patched = api.patch(f"{CAMPAIGNS}/{campaign['id']}", key=tenant_key, json={"budget_cent": 1})
    created = api.post(CAMPAIGNS, key=tenant_key, json={**SUMMER_LAUNCH, "cpm_bid_cent": 300})

    # Then both are 422 naming the field, and nothing changed (the PATCH used to answer 200 having done nothing)
    assert patched.status == 422, patched.body
    assert patched.json()["detail"] == "budget_cent: Extra inputs are not permitted"
    assert created.status == 422, created.body
    assert created.json()["detail"] == "cpm_bid_cent: Extra inputs are not permitted"
    assert api.get(f"{CAMPAIGNS}/{campaign['id']}", key=tenant_key).json() == campaign
    assert len(api.get(CAMPAIGNS, key=tenant_key).json()) == 1


def test_patch_other_fields_and_clearing_optional_ones(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    path = f"{CAMPAIGNS}/{campaign['id']}"
    changes = {
        "name": "Renamed",
        "priority": 0,
        "target_categories": ["strategy"],
        "target_tags": [],
        "daily_cap_cents": None,
        "end_date": None,
        "ad_category": "defense",
    }
    response = api.patch(path, key=tenant_key, json=changes)
    assert response.status == 200, response.body
    body = response.json()
    for field, value in changes.items():
        assert body[field] == value, field
    assert body["start_date"] == SUMMER_LAUNCH["start_date"]
    assert "daily_cap_millicents" not in campaign_item(campaign["id"])


def test_patch_validates_dates_against_stored_values(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    path = f"{CAMPAIGNS}/{campaign['id']}"
    # A new end_date before the stored start_date is refused, and so is a start_date after the stored end
    assert api.patch(path, key=tenant_key, json={"end_date": "2026-05-01T00:00:00Z"}).status == 422
    assert api.patch(path, key=tenant_key, json={"start_date": "2026-09-01T00:00:00Z"}).status == 422
    # Moving both together is fine
    moved = api.patch(
        path, key=tenant_key, json={"start_date": "2026-09-01T00:00:00Z", "end_date": "2026-10-01T00:00:00Z"}
    )
    assert moved.status == 200, moved.body
    assert moved.json()["end_date"] == "2026-10-01T00:00:00Z"


def test_patch_refuses_bad_values(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    path = f"{CAMPAIGNS}/{campaign['id']}"
    assert api.patch(path, key=tenant_key, json={"cpm_bid_cents": 50}).status == 422
    assert api.patch(path, key=tenant_key, json={"priority": 42}).status == 422
    null_name = api.patch(path, key=tenant_key, json={"name": None, "budget_cents": None})
    assert null_name.status == 400
    assert null_name.json()["detail"] == "budget_cents, name cannot be null"
    assert api.get(path, key=tenant_key).json() == campaign


def test_budget_below_spend_is_422_with_the_seed_message_and_changes_nothing(api, tenant_key):
    # Given a campaign that has spent $380.75
    campaign = funded_campaign(api, tenant_key)
    set_ledger(campaign["id"], spent_millicents=38_075_000)
    # When the budget is lowered below that, together with another field
    response = api.patch(f"{CAMPAIGNS}/{campaign['id']}", key=tenant_key, json={"budget_cents": 38000, "priority": 1})
    # Then the seed's error comes back and neither the campaign nor the ledger changed
    assert response.status == 422
    assert response.json() == {"detail": "Campaign budget_cents cannot be less than current spent_cents (38075)"}
    after = api.get(f"{CAMPAIGNS}/{campaign['id']}", key=tenant_key).json()
    assert after["budget_cents"] == 500000 and after["priority"] == 7
    assert ledger_item(campaign["id"])["budget_millicents"] == 500_000_000
    # A budget equal to the spend is allowed
    equal = api.patch(f"{CAMPAIGNS}/{campaign['id']}", key=tenant_key, json={"budget_cents": 38075})
    assert equal.status == 200
    assert ledger_item(campaign["id"])["budget_millicents"] == 38_075_000


def test_foreign_tenant_cannot_change_a_campaign(api, tenant_key, other_tenant_key):
    campaign = funded_campaign(api, tenant_key)
    add_creative(api, tenant_key, campaign["id"])
    register_advertiser(api, other_tenant_key)
    path = f"{CAMPAIGNS}/{campaign['id']}"
    assert api.patch(path, key=other_tenant_key, json={"name": "Hijacked"}).status == 403
    assert api.post(f"{path}/activate", key=other_tenant_key).status == 403
    assert api.get(path, key=tenant_key).json() == campaign
    api.post(f"{path}/activate", key=tenant_key)
    assert api.post(f"{path}/pause", key=other_tenant_key).status == 403
    assert api.get(path, key=tenant_key).json()["status"] == "active"


def test_activate_requires_a_creative(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    response = api.post(f"{CAMPAIGNS}/{campaign['id']}/activate", key=tenant_key)
    assert response.status == 422
    assert "creative" in response.json()["detail"]
    assert api.get(f"{CAMPAIGNS}/{campaign['id']}", key=tenant_key).json()["status"] == "draft"


def test_activate_requires_a_positive_advertiser_balance(api, tenant_key):
    register_advertiser(api, tenant_key, deposit_cents=0)
    campaign = create_campaign(api, tenant_key)
    add_creative(api, tenant_key, campaign["id"])
    response = api.post(f"{CAMPAIGNS}/{campaign['id']}/activate", key=tenant_key)
    assert response.status == 422
    assert "balance" in response.json()["detail"]
    assert "GSI2PK" not in campaign_item(campaign["id"])


def test_activate_requires_a_balance_that_pays_one_impression(api, tenant_key):
    # Given an advertiser whose 4-cent balance is below one impression at a 5,000-cent CPM (5 cents)
    register_advertiser(api, tenant_key, deposit_cents=4)
    campaign = create_campaign(api, tenant_key, cpm_bid_cents=5000)
    add_creative(api, tenant_key, campaign["id"])
    # When it activates the campaign
    response = api.post(f"{CAMPAIGNS}/{campaign['id']}/activate", key=tenant_key)
    # Then it is refused and stays out of the serving index: it could never pay for an impression
    assert response.status == 422
    assert response.json()["detail"] == (
        "Advertiser balance must cover at least one impression at the campaign's bid (5 cents) to activate it; "
        "deposit funds first"
    )
    assert "GSI2PK" not in campaign_item(campaign["id"])
    # And one more cent is enough
    assert api.post("/api/ads/deposit", key=tenant_key, json={"amount_cents": 1}).status == 200
    assert api.post(f"{CAMPAIGNS}/{campaign['id']}/activate", key=tenant_key).status == 200


def test_activate_refuses_a_budget_left_below_one_impression(api, tenant_key):
    # Given a campaign with 249 of its budget's millicents left, at a 250-millicent impression price
    campaign = funded_campaign(api, tenant_key)
    add_creative(api, tenant_key, campaign["id"])
    set_ledger(campaign["id"], spent_millicents=500_000_000 - 249)
    # When it is activated, it is refused, as the pacing job would exhaust it
    response = api.post(f"{CAMPAIGNS}/{campaign['id']}/activate", key=tenant_key)
    assert response.status == 422
    assert response.json()["detail"] == (
        "Campaign budget left cannot pay one impression at cpm_bid_cents 250 (0.25 cents); "
        "raise budget_cents before activating"
    )
    assert "GSI2PK" not in campaign_item(campaign["id"])
    # With exactly one impression left it activates
    set_ledger(campaign["id"], spent_millicents=500_000_000 - 250)
    assert api.post(f"{CAMPAIGNS}/{campaign['id']}/activate", key=tenant_key).status == 200


def test_activation_is_conditioned_on_what_the_caller_checked(api, tenant_key):
    # Given a funded campaign with a creative, checked at version 1 with its 500,000,000-millicent budget
    campaign = funded_campaign(api, tenant_key)
    add_creative(api, tenant_key, campaign["id"])
    now = campaign["created_at"]

    def activate(**overrides):
        checked = {"expected_version": 1, "budget_millicents": 500_000_000, "impression_price_millicents": 250}
        repository.activate(campaign["id"], "tenant-a", now, **(checked | overrides))

    # When the configuration changed after the check (a PATCH bumps the version), the campaign refuses
    with pytest.raises(repository.WriteRefused) as stale:
        activate(expected_version=0)
    assert stale.value.failed == {"campaign"}
    # When the budget changed, or the spend leaves less than one impression, the ledger refuses
    with pytest.raises(repository.WriteRefused) as moved:
        activate(budget_millicents=400_000_000)
    assert moved.value.failed == {"ledger"}
    set_ledger(campaign["id"], spent_millicents=500_000_000 - 249)
    with pytest.raises(repository.WriteRefused) as spent:
        activate()
    assert spent.value.failed == {"ledger"}
    # When the balance (100,000 cents) is below the price, the advertiser refuses
    set_ledger(campaign["id"], spent_millicents=0)
    with pytest.raises(repository.WriteRefused) as poor:
        activate(impression_price_millicents=100_000_001)
    assert poor.value.failed == {"advertiser"}
    # And nothing was written by any refused attempt
    assert campaign_item(campaign["id"])["status"] == "draft"
    activate()
    assert campaign_item(campaign["id"])["status"] == "active"


def test_activate_refuses_a_fully_spent_budget(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    add_creative(api, tenant_key, campaign["id"])
    set_ledger(campaign["id"], spent_millicents=500_000_000)
    response = api.post(f"{CAMPAIGNS}/{campaign['id']}/activate", key=tenant_key)
    assert response.status == 422
    assert "budget" in response.json()["detail"]


def test_activate_pause_lifecycle_maintains_the_serving_index(api, tenant_key):
    # Given a funded draft with a creative
    campaign = funded_campaign(api, tenant_key)
    add_creative(api, tenant_key, campaign["id"])
    path = f"{CAMPAIGNS}/{campaign['id']}"
    # A draft cannot be paused
    draft_pause = api.post(f"{path}/pause", key=tenant_key)
    assert draft_pause.status == 409
    assert "draft" in draft_pause.json()["detail"]
    # When activated, it is active and listed in the serving index
    activated = api.post(f"{path}/activate", key=tenant_key)
    assert activated.status == 200, activated.body
    assert activated.json()["status"] == "active"
    assert activated.json()["id"] == campaign["id"]
    item = campaign_item(campaign["id"])
    assert (item["GSI2PK"], item["GSI2SK"]) == ("SERVING", campaign["id"])
    serving = aws.campaigns_table().query(IndexName="GSI2", KeyConditionExpression=Key("GSI2PK").eq("SERVING"))
    assert [i["id"] for i in serving["Items"]] == [campaign["id"]]
    # Updating an active campaign keeps it serving
    assert api.patch(path, key=tenant_key, json={"cpm_bid_cents": 400}).json()["status"] == "active"
    assert campaign_item(campaign["id"])["GSI2PK"] == "SERVING"
    # Activating twice conflicts
    again = api.post(f"{path}/activate", key=tenant_key)
    assert again.status == 409
    assert "already active" in again.json()["detail"]
    # Pausing takes it out of the index; pausing again conflicts
    paused = api.post(f"{path}/pause", key=tenant_key)
    assert paused.status == 200
    assert paused.json()["status"] == "paused"
    assert "GSI2PK" not in campaign_item(campaign["id"])
    assert api.post(f"{path}/pause", key=tenant_key).status == 409
    # A paused campaign can be reactivated
    assert api.post(f"{path}/activate", key=tenant_key).json()["status"] == "active"


def test_an_advertiser_has_at_most_100_active_campaigns(api, tenant_key, other_tenant_key, monkeypatch):
    # The cap is 100; lowered to 2 here so the test makes a handful of requests
    assert campaigns_logic.MAX_ACTIVE_CAMPAIGNS_PER_ADVERTISER == 100
    monkeypatch.setattr(campaigns_logic, "MAX_ACTIVE_CAMPAIGNS_PER_ADVERTISER", 2)
    register_advertiser(api, tenant_key)
    ids = [create_campaign(api, tenant_key)["id"] for _ in range(3)]
    for campaign_id in ids:
        add_creative(api, tenant_key, campaign_id)
    for campaign_id in ids[:2]:
        assert api.post(f"{CAMPAIGNS}/{campaign_id}/activate", key=tenant_key).status == 200
    # When a third is activated, it is refused and stays a draft
    refused = api.post(f"{CAMPAIGNS}/{ids[2]}/activate", key=tenant_key)
    assert refused.status == 422, refused.body
    assert refused.json()["detail"] == "An advertiser can have at most 2 active campaigns; pause one first"
    assert api.get(f"{CAMPAIGNS}/{ids[2]}", key=tenant_key).json()["status"] == "draft"
    # And pausing one makes room, while another advertiser's campaigns never counted
    assert api.post(f"{CAMPAIGNS}/{ids[0]}/pause", key=tenant_key).status == 200
    assert api.post(f"{CAMPAIGNS}/{ids[2]}/activate", key=tenant_key).status == 200
    other = active_campaign(api, other_tenant_key)
    assert other["status"] == "active"
