"""Exact money. The ledger unit is the millicent (1/1000 cent, an int); no float ever enters the ledger.

A CPM bid in whole cents buys 1,000 impressions, so one impression costs exactly `cpm_bid_cents` millicents
(a 250-cent CPM charges 250 millicents = 0.25 cents). The API shows `*_cents` fields as exact decimals.
"""

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer

MILLICENTS_PER_CENT = 1000


def cents_to_millicents(cents: int) -> int:
    return cents * MILLICENTS_PER_CENT


def millicents_to_cents(millicents: int) -> Decimal:
    """Exact cents: a whole Decimal when there is no fraction (so JSON shows 500000, not 500000.0)."""
    cents = Decimal(millicents) / MILLICENTS_PER_CENT
    return cents.quantize(Decimal(1)) if cents == cents.to_integral_value() else cents.normalize()


def impression_charge_millicents(cpm_bid_cents: int) -> int:
    return cpm_bid_cents  # cpm_bid_cents * 1000 millicents per cent / 1000 impressions


def _cents_json(value: Decimal) -> int | float:
    # JSON has one number type; a float prints the shortest text that round-trips, which for a value with
    # at most 3 decimals and fewer than 15 significant digits is exactly the decimal text (tested).
    return int(value) if value == value.to_integral_value() else float(value)


# A cents amount in an API response: exact Decimal in Python, a JSON number on the wire (0.25, 500000).
Cents = Annotated[Decimal, PlainSerializer(_cents_json, return_type=int | float, when_used="json")]
