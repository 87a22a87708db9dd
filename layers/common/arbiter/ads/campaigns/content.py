"""What one campaign item may hold.

Creatives, geo targets, blocklist rules and affinities are maps inside the campaign item (D5), and DynamoDB refuses
an item past 400 KB. Each kind has a count cap, held by the write's own size() condition. Creatives, geo targets
and blocklist rules also share a byte budget, checked on the campaign just read. The rest of the item (50
affinities, the target lists, the fields) takes at most ~75 KB, and the largest creative ~86 KB, so the budget
leaves room for one add that races past the check; more concurrent adds than that are stopped by DynamoDB's own
limit (413). Without the budget a few creatives with long texts (a hook and 20 alternates of 1,000 characters, up
to 4 bytes each) filled the item, and every later write to the campaign failed.
"""

from typing import Any

from arbiter.ads.campaigns.affinity_models import MAX_AFFINITIES_PER_CAMPAIGN
from arbiter.ads.campaigns.models import CampaignItem
from arbiter.ads.campaigns.repository import ChildMap
from arbiter.dynamo import stored_size
from arbiter.errors import BusinessRuleError

MAX_CHILDREN = {
    ChildMap.CREATIVES: 50,
    ChildMap.GEO_TARGETS: 200,
    ChildMap.BLOCKLIST: 200,
    ChildMap.AFFINITIES: MAX_AFFINITIES_PER_CAMPAIGN,
}
_LABELS = {
    ChildMap.CREATIVES: "creatives",
    ChildMap.GEO_TARGETS: "geo targets",
    ChildMap.BLOCKLIST: "blocklist rules",
    ChildMap.AFFINITIES: "affinities",
}
# The maps the byte budget covers; affinities are small and bounded by their count (in the ~75 KB outside it).
BUDGETED = (ChildMap.CREATIVES, ChildMap.GEO_TARGETS, ChildMap.BLOCKLIST)
CONTENT_MAX_BYTES = 230_000


def too_many(child_map: ChildMap) -> BusinessRuleError:
    return BusinessRuleError(f"A campaign can have at most {MAX_CHILDREN[child_map]} {_LABELS[child_map]}")


def content_size(campaign: CampaignItem) -> int:
    """The stored bytes of the campaign's creatives, geo targets and blocklist rules."""
    return sum(
        stored_size(child.model_dump(exclude_none=True))
        for child_map in BUDGETED
        for child in getattr(campaign, child_map.value).values()
    )


def ensure_room(
    campaign: CampaignItem, child_map: ChildMap, doc: dict[str, Any], replaces: dict[str, Any] | None = None
) -> None:
    """422 unless the campaign can take `doc` (a new child, or the new version of `replaces`)."""
    if replaces is None and len(getattr(campaign, child_map.value)) >= MAX_CHILDREN[child_map]:
        raise too_many(child_map)
    if child_map not in BUDGETED:
        return
    growth = stored_size(doc) - (stored_size(replaces) if replaces is not None else 0)
    if growth <= 0:
        return
    after = content_size(campaign) + growth
    if after > CONTENT_MAX_BYTES:
        raise BusinessRuleError(
            f"A campaign's creatives, geo targets and blocklist rules take at most {CONTENT_MAX_BYTES // 1000} KB "
            f"stored; this would make them {after // 1000} KB. Remove some, or shorten their texts"
        )
