"""Geo targets and blocklist rules of a campaign: each is one entry of a map inside the campaign item."""

from arbiter import clock, ids
from arbiter.ads.campaigns.logic import add_child, next_position, owned_campaign, remove_child
from arbiter.ads.campaigns.repository import ChildMap
from arbiter.ads.campaigns.targeting_models import (
    BlocklistRuleDoc,
    BlocklistRuleOutput,
    CreateBlocklistRuleInput,
    CreateGeoTargetInput,
    GeoTargetDoc,
    GeoTargetOutput,
)
from arbiter.auth.models import Principal


def _geo_output(campaign_id: str, doc: GeoTargetDoc) -> GeoTargetOutput:
    return GeoTargetOutput(campaign_id=campaign_id, **doc.model_dump(exclude={"position"}))


def _rule_output(campaign_id: str, doc: BlocklistRuleDoc) -> BlocklistRuleOutput:
    return BlocklistRuleOutput(campaign_id=campaign_id, **doc.model_dump(exclude={"position"}))


def add_geo_target(principal: Principal, campaign_id: str, request: CreateGeoTargetInput) -> GeoTargetOutput:
    campaign, _ = owned_campaign(principal, campaign_id)
    doc = GeoTargetDoc(
        id=ids.new_id("geo"),
        **request.model_dump(),
        created_at=clock.now_iso(),
        position=next_position(campaign.geo_targets.values()),
    )
    add_child(principal, campaign, ChildMap.GEO_TARGETS, doc.model_dump(exclude_none=True))
    return _geo_output(campaign_id, doc)


def list_geo_targets(principal: Principal, campaign_id: str) -> list[GeoTargetOutput]:
    campaign, _ = owned_campaign(principal, campaign_id)
    docs = sorted(campaign.geo_targets.values(), key=lambda doc: (doc.created_at, doc.position, doc.id))
    return [_geo_output(campaign_id, doc) for doc in docs]


def delete_geo_target(principal: Principal, campaign_id: str, target_id: str) -> None:
    remove_child(principal, campaign_id, ChildMap.GEO_TARGETS, target_id, "Geo target not found")


def add_blocklist_rule(
    principal: Principal, campaign_id: str, request: CreateBlocklistRuleInput
) -> BlocklistRuleOutput:
    campaign, _ = owned_campaign(principal, campaign_id)
    doc = BlocklistRuleDoc(
        id=ids.new_id("blk"),
        **request.model_dump(),
        created_at=clock.now_iso(),
        position=next_position(campaign.blocklist.values()),
    )
    add_child(principal, campaign, ChildMap.BLOCKLIST, doc.model_dump(exclude_none=True))
    return _rule_output(campaign_id, doc)


def list_blocklist_rules(principal: Principal, campaign_id: str) -> list[BlocklistRuleOutput]:
    campaign, _ = owned_campaign(principal, campaign_id)
    docs = sorted(campaign.blocklist.values(), key=lambda doc: (doc.created_at, doc.position, doc.id))
    return [_rule_output(campaign_id, doc) for doc in docs]


def delete_blocklist_rule(principal: Principal, campaign_id: str, rule_id: str) -> None:
    remove_child(principal, campaign_id, ChildMap.BLOCKLIST, rule_id, "Blocklist rule not found")
