"""The `arbiter` CLI: keys create / list / revoke against moto, and the OpenAPI printer."""

import hashlib
import json

import pytest

from arbiter import aws
from arbiter.api.openapi import openapi_json
from arbiter.auth.models import ALL_SCOPES
from arbiter.cli import main

# openapi_json is imported at collection, not inside a capsys test: Powertools' logger binds to the
# sys.stdout current at its first import, and a capsys stream is closed after its test.
ACME = {"company_name": "Acme Corp", "contact_email": "ads@acme.com"}
ALL_SCOPE_VALUES = sorted(scope.value for scope in ALL_SCOPES)


def create_key_json(capsys, *args: str) -> dict:
    assert main(["keys", "create", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def all_key_items() -> list[dict]:
    return [item for item in aws.campaigns_table().scan()["Items"] if item["PK"].startswith("APIKEY#")]


def test_create_json_is_exactly_the_documented_shape_with_all_scopes(dynamodb, capsys):
    # When a key is created without --scope
    created = create_key_json(capsys, "--tenant", "acme")
    # Then the JSON has exactly these fields, every scope, and a usable secret
    assert set(created) == {"api_key", "key_id", "tenant_id", "scopes"}
    assert created["api_key"].startswith("ak_")
    assert created["key_id"].startswith("key_")
    assert created["tenant_id"] == "acme"
    assert created["scopes"] == ALL_SCOPE_VALUES


def test_create_with_chosen_scopes_grants_only_those(dynamodb, capsys):
    created = create_key_json(capsys, "--tenant", "acme", "--scope", "offers", "--scope", "ads:developer")
    assert created["scopes"] == ["ads:developer", "offers"]


def test_key_is_stored_only_as_its_sha256(dynamodb, capsys):
    # Given a created key
    created = create_key_json(capsys, "--tenant", "acme")
    # Then the table holds its hash, and the raw secret appears in no item
    items = all_key_items()
    assert len(items) == 1
    assert items[0]["key_hash"] == hashlib.sha256(created["api_key"].encode()).hexdigest()
    assert items[0]["PK"] == f"APIKEY#{items[0]['key_hash']}"
    assert created["api_key"] not in json.dumps(items, default=str)


def test_human_output_shows_the_secret_once_with_a_warning(dynamodb, capsys):
    assert main(["keys", "create", "--tenant", "acme"]) == 0
    out = capsys.readouterr().out
    secret = next(line.split()[1] for line in out.splitlines() if line.startswith("api_key:"))
    assert secret.startswith("ak_")
    assert "cannot be shown again" in out


def test_unknown_scope_exits_2_with_a_message_and_writes_nothing(dynamodb, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["keys", "create", "--tenant", "acme", "--scope", "admin"])
    assert exited.value.code == 2
    assert "invalid choice: 'admin'" in capsys.readouterr().err
    assert all_key_items() == []


def test_invalid_tenant_exits_2_with_a_message_and_writes_nothing(dynamodb, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["keys", "create", "--tenant", "no spaces allowed"])
    assert exited.value.code == 2
    assert "tenant id must be" in capsys.readouterr().err
    assert all_key_items() == []


def test_list_shows_metadata_but_never_the_secret_or_hash(dynamodb, capsys):
    # Given two tenants' keys
    first = create_key_json(capsys, "--tenant", "acme")
    second = create_key_json(capsys, "--tenant", "globex", "--scope", "offers")
    key_hashes = [item["key_hash"] for item in all_key_items()]
    # When listing as a table
    assert main(["keys", "list"]) == 0
    table = capsys.readouterr().out
    # Then both appear with their metadata, and neither secret nor hash is printed
    header, *rows = table.splitlines()
    assert header.split() == ["KEY_ID", "TENANT", "SCOPES", "CREATED_AT", "REVOKED_AT"]
    by_id = {row.split()[0]: row.split() for row in rows}
    assert by_id[first["key_id"]][1:3] == ["acme", ",".join(ALL_SCOPE_VALUES)]
    assert by_id[second["key_id"]][1:3] == ["globex", "offers"]
    assert by_id[second["key_id"]][3].endswith("Z")
    assert by_id[second["key_id"]][4] == "-"
    for secret in (first["api_key"], second["api_key"], *key_hashes):
        assert secret not in table


def test_list_json_filters_by_tenant_and_omits_secrets(dynamodb, capsys):
    create_key_json(capsys, "--tenant", "acme")
    globex = create_key_json(capsys, "--tenant", "globex")
    assert main(["keys", "list", "--tenant", "globex", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [record["key_id"] for record in listed] == [globex["key_id"]]
    assert set(listed[0]) == {"key_id", "tenant_id", "scopes", "created_at", "revoked_at"}
    assert listed[0]["revoked_at"] is None


def test_revoked_key_gets_401_at_once(dynamodb, api, capsys):
    # Given a key that works (and is now in the verified-key cache)
    created = create_key_json(capsys, "--tenant", "acme", "--scope", "ads:advertiser")
    assert api.post("/api/ads/register", key=created["api_key"], json=ACME).status == 201
    assert api.get("/api/ads/profile", key=created["api_key"]).status == 200
    # When it is revoked through the CLI
    assert main(["keys", "revoke", created["key_id"], "--json"]) == 0
    revoked = json.loads(capsys.readouterr().out)
    # Then the record says so, and the very next request is refused
    assert revoked["key_id"] == created["key_id"]
    assert revoked["revoked_at"].endswith("Z")
    assert "api_key" not in revoked and "key_hash" not in revoked
    response = api.get("/api/ads/profile", key=created["api_key"])
    assert response.status == 401
    assert response.json()["detail"]
    # And the listing shows the revocation time
    assert main(["keys", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["revoked_at"] == revoked["revoked_at"]


def test_revoking_an_unknown_key_exits_1_with_a_message(dynamodb, capsys):
    assert main(["keys", "revoke", "key_doesnotexist"]) == 1
    assert "key_doesnotexist not found" in capsys.readouterr().err


def test_keys_without_any_dynamodb_configured_exit_2(monkeypatch, capsys):
    # Neither a local endpoint nor a deployed table name: refuse rather than guess a table in real AWS.
    monkeypatch.delenv("DYNAMODB_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("CAMPAIGNS_TABLE", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["keys", "list"])
    assert exited.value.code == 2
    assert "DYNAMODB_ENDPOINT_URL" in capsys.readouterr().err
    aws.reset_clients()


def test_openapi_prints_the_document_of_every_route(capsys):
    assert main(["openapi"]) == 0
    out = capsys.readouterr().out
    assert out == openapi_json()
    document = json.loads(out)
    assert document["openapi"].startswith("3.")
    assert {"/health", "/api/ads/register", "/api/ads/placements/{game_id}"} <= set(document["paths"])
