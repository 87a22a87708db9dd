"""The local stack's faster moto transactions stay all or nothing (arbiter.devstack.moto_transactions)."""

import pytest
from botocore.exceptions import ClientError

from arbiter import aws
from arbiter.settings import get_settings


def _client():
    return aws.dynamodb_client()


def _item(pk: str) -> dict | None:
    return (
        _client()
        .get_item(TableName=get_settings().interactions_table, Key={"PK": {"S": pk}, "SK": {"S": "X"}})
        .get("Item")
    )


def test_an_item_failing_while_applied_undoes_the_ones_before_it(dynamodb, fast_transactions):
    # Given an item already near DynamoDB's 400 KB limit, and a counter
    table = get_settings().interactions_table
    client = _client()
    client.put_item(TableName=table, Item={"PK": {"S": "BIG"}, "SK": {"S": "X"}, "blob": {"S": "a" * 300_000}})
    client.put_item(TableName=table, Item={"PK": {"S": "COUNTER"}, "SK": {"S": "X"}, "n": {"N": "1"}})

    # When one transaction writes a new item, adds to the counter, then grows the big item past the limit
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"PK": {"S": "NEW"}, "SK": {"S": "X"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": {"S": "COUNTER"}, "SK": {"S": "X"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": {"S": "BIG"}, "SK": {"S": "X"}},
                        "UpdateExpression": "SET more = :more",
                        "ExpressionAttributeValues": {":more": {"S": "b" * 200_000}},
                    }
                },
            ]
        )

    # Then DynamoDB's answer is kept, and nothing of the transaction was written (the first two items were)
    assert "Item size" in str(refused.value)
    assert _item("NEW") is None
    assert _item("COUNTER")["n"] == {"N": "1"}
    assert "more" not in _item("BIG")
