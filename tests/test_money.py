"""Money stays exact: integer millicents in the ledger, exact decimal text on the wire."""

import json
import random
from decimal import Decimal

from pydantic import BaseModel

from arbiter.money import Cents, cents_to_millicents, impression_charge_millicents, millicents_to_cents


class _Amount(BaseModel):
    amount_cents: Cents


def _wire_text(millicents: int) -> str:
    return json.dumps(_Amount(amount_cents=millicents_to_cents(millicents)).model_dump(mode="json"))


def test_a_250_cent_cpm_charges_a_quarter_cent_per_impression():
    charge = impression_charge_millicents(250)
    assert charge == 250
    assert millicents_to_cents(charge) == Decimal("0.25")
    assert _wire_text(charge) == '{"amount_cents": 0.25}'


def test_whole_cents_render_as_integers():
    assert _wire_text(cents_to_millicents(500000)) == '{"amount_cents": 500000}'
    assert _wire_text(0) == '{"amount_cents": 0}'


def test_wire_text_is_the_exact_decimal_for_any_ledger_value():
    # Given ledger values up to $10 billion with every millicent fraction
    rng = random.Random(7)
    samples = [rng.randrange(0, 10**15) for _ in range(20_000)] + [1, 10, 100, 999, 10**15 - 1]
    for millicents in samples:
        # When rendered, Then the JSON number text equals the exact decimal (no float drift)
        text = json.loads(_wire_text(millicents), parse_float=Decimal, parse_int=Decimal)["amount_cents"]
        assert text == Decimal(millicents) / 1000, millicents


def test_sums_in_millicents_reconcile_exactly():
    charges = [impression_charge_millicents(bid) for bid in (100, 250, 333, 10000)] * 2500
    assert millicents_to_cents(sum(charges)) == sum(Decimal(c) / 1000 for c in charges)
