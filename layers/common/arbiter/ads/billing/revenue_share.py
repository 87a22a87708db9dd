"""Splitting a charge between the game's developer and the platform, exactly.

Rule: the developer's share is the charge times the revenue share, rounded DOWN to the millicent; the
platform takes the remainder. Both are integers and always sum to the charge, so the ledger reconciles to the
unit: sum(charges) == sum(developer shares) + sum(platform takes).
"""

BASIS_POINTS = 10_000  # revenue_share_pct 62.5 is stored as 6250 basis points


def split_charge(charge_millicents: int, revenue_share_bps: int) -> tuple[int, int]:
    if charge_millicents < 0 or not 0 <= revenue_share_bps <= BASIS_POINTS:
        raise ValueError("charge must be non-negative and the share within 0..100%")
    developer_share = charge_millicents * revenue_share_bps // BASIS_POINTS
    return developer_share, charge_millicents - developer_share
