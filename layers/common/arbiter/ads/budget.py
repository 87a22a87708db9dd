"""Whether money left can pay for one more impression at a campaign's bid (one impression costs cpm_bid_cents
millicents, D3). One rule for /match's filters (budget, daily cap, advertiser balance), the pacing job (which
exhausts such a campaign) and activation (which refuses it)."""

from arbiter.money import impression_charge_millicents


def cannot_pay_one_impression(available_millicents: int, cpm_bid_cents: int) -> bool:
    return available_millicents < impression_charge_millicents(cpm_bid_cents)


def budget_cannot_pay_one_impression(budget_millicents: int, spent_millicents: int, cpm_bid_cents: int) -> bool:
    """On the ledger's figures (a budget lowered below the spend leaves nothing, not a negative amount)."""
    return cannot_pay_one_impression(max(0, budget_millicents - spent_millicents), cpm_bid_cents)
