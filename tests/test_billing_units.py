"""Revenue share rounding and impression tokens (units of the billing path)."""

import random
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from arbiter import aws, clock
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


@pytest.fixture
def secret_in_secrets_manager(monkeypatch):
    """The AWS set-up: the key is a Secrets Manager secret named by IMPRESSION_TOKEN_SECRET_ARN."""
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(Name="impression-token-key", SecretString="first-" + "k" * 58)["ARN"]
        monkeypatch.delenv("IMPRESSION_TOKEN_SECRET", raising=False)
        monkeypatch.setenv("IMPRESSION_TOKEN_SECRET_ARN", arn)
        aws.reset_clients()
        tokens.forget_secret()
        yield client, arn
    aws.reset_clients()
    tokens.forget_secret()


def test_a_rotation_keeps_the_tokens_signed_before_it_valid(secret_in_secrets_manager):
    client, arn = secret_in_secrets_manager
    # Given a token signed with the secret's current version
    before = tokens.issue(_claims())
    # When the secret is rotated, and the functions' cache of it has expired
    client.put_secret_value(SecretId=arn, SecretString="second-" + "k" * 57)
    tokens.forget_secret()
    after = tokens.issue(_claims())
    # Then the token issued before the rotation still verifies, as does the new one
    assert tokens.verify(after).campaign_id == "camp_1"
    assert tokens.verify(before).campaign_id == "camp_1"
    # And after a second rotation the first key is no longer current nor previous: its tokens are refused
    client.put_secret_value(SecretId=arn, SecretString="third-" + "k" * 58)
    tokens.forget_secret()
    with pytest.raises(BadRequestError, match="signature is invalid"):
        tokens.verify(before)
    assert tokens.verify(after).campaign_id == "camp_1"


def test_a_secret_never_rotated_is_asked_for_its_previous_version_once_per_cache_period(
    secret_in_secrets_manager, monkeypatch
):
    client, _ = secret_in_secrets_manager
    calls = []
    real = client.get_secret_value
    monkeypatch.setattr(aws.secretsmanager_client(), "get_secret_value", lambda **kw: calls.append(kw) or real(**kw))
    token = tokens.issue(_claims())
    for _ in range(5):
        tokens.verify(token)
    # One read of the current version, one (failed) of the previous: not one per verification
    assert len(calls) == 2


def test_a_token_signed_with_a_key_rotated_in_after_this_instance_read_its_keys_verifies(secret_in_secrets_manager):
    client, arn = secret_in_secrets_manager
    # Given a verifying instance that has the key cached (one verification done)
    tokens.verify(tokens.issue(_claims()))
    # When the secret is rotated and another /match instance, reading it after the rotation, signs a token with it
    client.put_secret_value(SecretId=arn, SecretString="second-" + "k" * 57)
    signer = tokens._signature
    payload = tokens.issue(_claims()).split(".")[0]
    token = f"{payload}.{signer(payload, ('second-' + 'k' * 57).encode())}"
    # Then this instance, whose cache still holds only the old key, reads the keys again and accepts it
    assert tokens.verify(token).campaign_id == "camp_1"
    # And a token no key signed is refused without reading the keys on every request
    with pytest.raises(BadRequestError, match="signature is invalid"):
        tokens.verify(f"{payload}.{signer(payload, b'not-the-key')}")
