"""Creates the template's DynamoDB tables on whatever endpoint boto3 points at (moto, the local stack)."""

import os

import boto3

from arbiter.devstack.template import table_definitions, table_environment, ttl_attributes


def table_names(prefix: str = "") -> dict[str, str]:
    """Environment variable -> physical table name (the logical id, optionally prefixed)."""
    return {var: f"{prefix}{logical}" for var, logical in table_environment().items()}


def create_tables(client=None, prefix: str = "") -> dict[str, str]:
    """Create every table of template.yaml (skipping ones that exist) and export their names to os.environ."""
    client = client or boto3.client("dynamodb")
    existing = set(client.list_tables().get("TableNames", []))
    ttl = ttl_attributes()
    for logical, kwargs in table_definitions().items():
        name = f"{prefix}{logical}"
        if name not in existing:
            client.create_table(TableName=name, **kwargs)
            if logical in ttl:
                client.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl[logical]}
                )
    names = table_names(prefix)
    os.environ.update(names)
    return names
