"""The `arbiter` command: API keys, the local stack and the OpenAPI document.

    arbiter keys create --tenant T [--scope S ...] [--json]
    arbiter keys list [--tenant T] [--json]
    arbiter keys revoke KEY_ID [--json]
    arbiter serve [--port N] [--dynamodb-port N]
    arbiter openapi

`keys` talks to whatever DynamoDB the environment points at:
  DYNAMODB_ENDPOINT_URL  set   -> that endpoint (the local stack prints the value to export); table names
                                  default to the local stack's, credentials to dummies when none are set.
  DYNAMODB_ENDPOINT_URL  unset -> real AWS with the usual credentials; CAMPAIGNS_TABLE must name the
                                  deployed table (stack output CampaignsTableName), AWS_REGION its region.

Exit status: 0 done, 1 the operation failed (e.g. unknown key id), 2 bad usage or configuration.
"""

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence

from arbiter.auth.models import ApiKeyRecord, Scope

EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or configuration: printed as `arbiter: error: ...`, exit status 2."""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arbiter",
        description="Arbiter developer tooling: API keys, the local stack, the OpenAPI document.",
        epilog="Environment: DYNAMODB_ENDPOINT_URL (local stack) or CAMPAIGNS_TABLE + AWS credentials (deployed).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keys_parser = commands.add_parser("keys", help="create, list and revoke API keys")
    keys_commands = keys_parser.add_subparsers(dest="keys_command", required=True, metavar="ACTION")

    create = keys_commands.add_parser("create", help="create a key (the secret is shown once)")
    create.add_argument("--tenant", required=True, help="tenant id: 1-64 letters, digits, '-', '_' or '.'")
    create.add_argument(
        "--scope",
        action="append",
        choices=[scope.value for scope in Scope],
        dest="scopes",
        help="grant this scope (repeatable); every scope when omitted",
    )
    create.add_argument("--json", action="store_true", help="print one JSON object")

    listing = keys_commands.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--tenant", help="only this tenant's keys")
    listing.add_argument("--json", action="store_true", help="print a JSON array")

    revoke = keys_commands.add_parser("revoke", help="revoke a key by its id (key_...)")
    revoke.add_argument("key_id")
    revoke.add_argument("--json", action="store_true", help="print the revoked key as JSON")

    serve = commands.add_parser("serve", help="run the local stack (moto DynamoDB + every API function)")
    serve.add_argument("--port", type=int, help="API port (env PORT, default 3000)")
    serve.add_argument("--dynamodb-port", type=int, help="DynamoDB port (env DYNAMODB_PORT, default 8000)")

    commands.add_parser("openapi", help="print the OpenAPI document of every route")
    return parser


def _point_at_dynamodb() -> None:
    """Make the key commands use the DynamoDB the environment names (see the module docstring)."""
    from arbiter import aws
    from arbiter.devstack.tables import table_names

    if os.environ.get("DYNAMODB_ENDPOINT_URL"):
        for variable, name in table_names().items():
            os.environ.setdefault(variable, name)
        if not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_PROFILE"):
            os.environ["AWS_ACCESS_KEY_ID"] = "local"
            os.environ["AWS_SECRET_ACCESS_KEY"] = "local"
    elif not os.environ.get("CAMPAIGNS_TABLE"):
        raise UsageError(
            "no DynamoDB to talk to: export DYNAMODB_ENDPOINT_URL (printed by `arbiter serve`) for the local "
            "stack, or CAMPAIGNS_TABLE (stack output CampaignsTableName) for a deployed stack"
        )
    aws.reset_clients()


def _record_json(record: ApiKeyRecord) -> dict:
    # The hash never leaves the table: it is as good as the key for anyone who can write the table.
    return record.model_dump(mode="json", exclude={"key_hash"})


def _keys_create(args: argparse.Namespace) -> int:
    from arbiter.auth import keys
    from arbiter.errors import ArbiterError

    try:
        created = keys.create_key(args.tenant, [Scope(scope) for scope in args.scopes or ()])
    except ArbiterError as error:
        raise UsageError(error.detail) from error
    if args.json:
        print(json.dumps(created.model_dump(mode="json")))
    else:
        print(f"api_key:   {created.api_key}")
        print(f"key_id:    {created.key_id}")
        print(f"tenant_id: {created.tenant_id}")
        print(f"scopes:    {' '.join(created.scopes)}")
        print("Store the api_key now: only its SHA-256 is kept, it cannot be shown again.")
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from arbiter.auth import keys

    records = sorted(keys.list_keys(args.tenant), key=lambda record: (record.tenant_id, record.created_at))
    if args.json:
        print(json.dumps([_record_json(record) for record in records]))
        return 0
    rows = [("KEY_ID", "TENANT", "SCOPES", "CREATED_AT", "REVOKED_AT")]
    rows += [
        (record.key_id, record.tenant_id, ",".join(record.scopes), record.created_at, record.revoked_at or "-")
        for record in records
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    from arbiter.auth import keys
    from arbiter.errors import NotFoundError

    try:
        record = keys.revoke_key(args.key_id)
    except NotFoundError as error:
        print(f"arbiter: {error.detail}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(_record_json(record)))
    else:
        print(f"revoked {record.key_id} (tenant {record.tenant_id}) at {record.revoked_at}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from arbiter.devstack.server import LocalStack

    def _terminate(*_: object) -> None:
        raise KeyboardInterrupt

    # `kill <pid>` stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        stack = LocalStack(port=args.port, dynamodb_port=args.dynamodb_port)
    except ValueError as error:
        raise UsageError(str(error)) from error
    try:
        stack.serve_forever()
    except OSError as error:
        print(f"arbiter: cannot start the local stack: {error} (set PORT / DYNAMODB_PORT)", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _openapi(_: argparse.Namespace) -> int:
    from arbiter.api.openapi import openapi_json

    sys.stdout.write(openapi_json())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "keys":
            _point_at_dynamodb()
            action = {"create": _keys_create, "list": _keys_list, "revoke": _keys_revoke}[args.keys_command]
            return action(args)
        if args.command == "serve":
            return _serve(args)
        return _openapi(args)
    except UsageError as error:
        parser.exit(EXIT_USAGE, f"arbiter: error: {error}\n")


if __name__ == "__main__":
    sys.exit(main())
