"""Runtime settings: environment variables are read and validated once, so a bad value stops a function at its
start instead of being silently replaced."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from arbiter.ads.serving import cache as serving_cache
from arbiter.decisions import cache as decisions_cache
from arbiter.settings import Settings, get_settings


@pytest.fixture
def fresh_settings():
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cache_ttls_come_from_the_environment(monkeypatch, fresh_settings):
    # Given an operator's cache TTLs
    monkeypatch.setenv("CANDIDATE_CACHE_TTL_SECONDS", "30")
    monkeypatch.setenv("CATALOG_CACHE_TTL_SECONDS", "0")

    # Then the /match candidate cache and the decisions catalog cache use them
    assert serving_cache.ttl() == timedelta(seconds=30)
    assert decisions_cache.ttl_seconds() == 0


def test_cache_ttls_default_when_unset(monkeypatch, fresh_settings):
    monkeypatch.delenv("CANDIDATE_CACHE_TTL_SECONDS", raising=False)
    monkeypatch.delenv("CATALOG_CACHE_TTL_SECONDS", raising=False)
    assert serving_cache.ttl() == timedelta(seconds=15)
    assert decisions_cache.ttl_seconds() == 10


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CANDIDATE_CACHE_TTL_SECONDS", "301"),
        ("CATALOG_CACHE_TTL_SECONDS", "-1"),
        ("CANDIDATE_CACHE_TTL_SECONDS", "soon"),
    ],
)
def test_a_cache_ttl_out_of_bounds_is_refused_not_replaced(monkeypatch, name, value):
    # Given a mistyped TTL (it used to fall back to the default without a word)
    monkeypatch.setenv(name, value)

    # Then reading the settings fails, naming the variable
    with pytest.raises(ValidationError, match=name):
        Settings()
