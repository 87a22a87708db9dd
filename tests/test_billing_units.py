"""Revenue share rounding and impression tokens (units of the billing path)."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from arbiter import clock
from arbiter.ads import tokens
from arbiter.ads.billing.models import RecordImpressionInput
from arbiter.ads.billing.revenue_share import split_charge
from arbiter.errors import BadRequestError


def test_developer_share_rounds_down_and_platform_takes_the_rest():
    assert split_charge(250, 7000) == (175, 75)
    assert split_charge(333, 6250) == (208, 125)  # 208.125 -> 208
    assert split_charge(1, 9999) == (0, 1)
    assert split_charge(250, 0) == (0, 250)
    assert split_charge(250, 10000) == (250, 0)


def test_shares_always_sum_to_the_charge():
    rng = random.Random(3)
    for _ in range(10_000):
        charge, bps = rng.randrange(100, 10_001), rng.randrange(0, 10_001)
        share, take = split_charge(charge, bps)
        assert share + take == charge and share >= 0 and take >= 0


def test_share_outside_range_is_refused():
    with pytest.raises(ValueError):
        split_charge(100, 10_001)


@pytest.fixture
def signing_secret(monkeypatch):
    monkeypatch.setenv("IMPRESSION_TOKEN_SECRET", "test-secret")
    from arbiter.settings import get_settings

    get_settings.cache_clear()
    tokens.forget_secret()
    yield
    get_settings.cache_clear()
    tokens.forget_secret()


def _claims(**overrides) -> tokens.ImpressionClaims:
    values = {
        "tenant_id": "t1",
        "campaign_id": "camp_1",
        "creative_id": "crt_1",
        "game_id": "g1",
        "user_id": "u1",
        "session_id": "s1",
        "country_code": "US",
        "cpm_bid_cents": 250,
        "affinity_score": 0.73,
        "contributions": {"aff_1": 0.5},
        "expires_at": tokens.expiry_from_now(),
    }
    return tokens.ImpressionClaims(**{**values, **overrides})


def test_token_round_trips(signing_secret):
    claims = _claims()
    assert tokens.verify(tokens.issue(claims)) == claims


def test_tampered_token_is_refused(signing_secret):
    token = tokens.issue(_claims())
    forged = tokens.issue(_claims(cpm_bid_cents=100)).split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(BadRequestError, match="signature"):
        tokens.verify(forged)
    with pytest.raises(BadRequestError, match="malformed"):
        tokens.verify("not-a-token")


def test_expired_token_is_refused(signing_secret):
    token = tokens.issue(_claims())
    later = datetime.now(UTC) + timedelta(hours=1)
    clock.set_clock(lambda: later)
    try:
        with pytest.raises(BadRequestError, match="expired"):
            tokens.verify(token)
    finally:
        clock.set_clock(None)


def test_the_longest_token_match_can_issue_is_accepted(signing_secret):
    # Given /match's longest claims: 128-character user and session ids of 4-byte characters, 50 contributions
    # (such a token used to pass /impressions' 4096-character limit, so the impression could not be billed)
    claims = _claims(
        user_id="😀" * 128,
        session_id="😀" * 128,
        game_id="g" * 128,
        contributions={f"aff_{index:016d}": 0.123456 for index in range(50)},
    )

    # When it is issued
    token = tokens.issue(claims)

    # Then it fits the limit /impressions takes, and verifies
    assert len(token) <= tokens.MAX_TOKEN_LENGTH
    assert RecordImpressionInput(campaign_id="c", creative_id="c", game_id="g", impression_token=token)
    assert tokens.verify(token) == claims
