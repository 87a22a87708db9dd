"""API key items in the campaigns table: PK=APIKEY#<sha256>, listed through GSI1 and found by id through GSI2."""

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from arbiter import aws
from arbiter.auth.models import ApiKeyRecord
from arbiter.errors import ConflictError, NotFoundError

_LIST_PARTITION = "APIKEYS"


def _pk(key_hash: str) -> str:
    return f"APIKEY#{key_hash}"


def put_key(record: ApiKeyRecord) -> None:
    item = {
        "PK": _pk(record.key_hash),
        "SK": "APIKEY",
        "GSI1PK": _LIST_PARTITION,
        "GSI1SK": f"{record.tenant_id}#{record.key_id}",
        "GSI2PK": f"APIKEYID#{record.key_id}",
        "GSI2SK": "APIKEY",
        **record.model_dump(mode="json", exclude_none=True),
    }
    try:
        aws.campaigns_table().put_item(Item=item, ConditionExpression="attribute_not_exists(PK)")
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise ConflictError("API key already exists") from error
        raise


def get_key(key_hash: str) -> ApiKeyRecord | None:
    item = aws.campaigns_table().get_item(Key={"PK": _pk(key_hash), "SK": "APIKEY"}).get("Item")
    return ApiKeyRecord.model_validate(item) if item else None


def list_keys(tenant_id: str | None = None) -> list[ApiKeyRecord]:
    condition = Key("GSI1PK").eq(_LIST_PARTITION)
    if tenant_id:
        condition &= Key("GSI1SK").begins_with(f"{tenant_id}#")
    records, kwargs = [], {"IndexName": "GSI1", "KeyConditionExpression": condition}
    while True:
        page = aws.campaigns_table().query(**kwargs)
        records += [ApiKeyRecord.model_validate(item) for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return records
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def revoke_key(key_id: str, revoked_at: str) -> ApiKeyRecord:
    page = aws.campaigns_table().query(IndexName="GSI2", KeyConditionExpression=Key("GSI2PK").eq(f"APIKEYID#{key_id}"))
    if not page["Items"]:
        raise NotFoundError(f"API key {key_id} not found")
    record = ApiKeyRecord.model_validate(page["Items"][0])
    if record.revoked_at:
        return record
    aws.campaigns_table().update_item(
        Key={"PK": _pk(record.key_hash), "SK": "APIKEY"},
        UpdateExpression="SET revoked_at = :at",
        ConditionExpression="attribute_exists(PK)",
        ExpressionAttributeValues={":at": revoked_at},
    )
    return record.model_copy(update={"revoked_at": revoked_at})
