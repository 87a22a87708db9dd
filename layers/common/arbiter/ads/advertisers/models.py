"""Advertiser models: API input, API output, and the DynamoDB item."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, EmailStr, Field, HttpUrl, TypeAdapter

from arbiter.core.inputs import InputModel
from arbiter.money import Cents

COMPANY_NAME_MAX = 200
WEBSITE_MAX = 2048
_HTTP_URL = TypeAdapter(HttpUrl)


def _valid_http_url(value: str) -> str:
    _HTTP_URL.validate_python(value)  # raises a readable 422 for anything that is not an http(s) URL
    return value  # kept as sent: pydantic's normalised form would add a trailing slash to "https://acme.com"


WebsiteUrl = Annotated[str, Field(max_length=WEBSITE_MAX), AfterValidator(_valid_http_url)]


class RegisterAdvertiserInput(InputModel):
    company_name: str = Field(min_length=1, max_length=COMPANY_NAME_MAX)
    contact_email: EmailStr = Field(max_length=320)
    website: WebsiteUrl | None = None


class UpdateProfileInput(InputModel):
    company_name: str | None = Field(default=None, min_length=1, max_length=COMPANY_NAME_MAX)
    contact_email: EmailStr | None = Field(default=None, max_length=320)
    website: WebsiteUrl | None = None


class DepositInput(InputModel):
    # Up to $10M in one deposit; the balance's ceiling (repository.MAX_BALANCE_MILLICENTS) keeps it exact in JSON.
    amount_cents: int = Field(gt=0, le=1_000_000_000, strict=True)


class AdvertiserOutput(BaseModel):
    id: str
    company_name: str
    contact_email: str
    website: str | None
    balance_cents: Cents
    created_at: str


class DepositOutput(BaseModel):
    balance_cents: Cents
    deposited_cents: Cents


class AdvertiserItem(BaseModel):
    """Stored under PK=TENANT#<tenant>, SK=ADVERTISER; one advertiser account per tenant."""

    tenant_id: str
    id: str
    company_name: str
    contact_email: str
    website: str | None = None
    balance_millicents: int = 0
    deposited_millicents: int = 0
    created_at: str


class DepositReceiptItem(BaseModel):
    """A deposit sent with an Idempotency-Key, stored with the credit in one transaction (exactly once): its id
    is a digest of the tenant and the key, so a retry finds it and credits nothing."""

    tenant_id: str
    id: str
    idempotency_key: str
    amount_millicents: int
    created_at: str
