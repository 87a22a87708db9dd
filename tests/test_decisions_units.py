"""Decisions engine units: rule types, policy types, guardrails, dedup, experiment split, anonymous ids."""

import pytest
from pydantic import ValidationError

from arbiter.decisions import engine, identity, rules
from arbiter.decisions.cache import build_snapshot
from arbiter.decisions.models import (
    QualificationRuleOutput,
    Strategy,
)

NOW = 1_800_000_000


def rule(**fields) -> QualificationRuleOutput:
    return QualificationRuleOutput.model_validate({"id": "qr_1", "createdAt": "x", "name": "r", **fields})


def reason(rule_fields, segments=(), attributes=None, context=None):
    return rules.qualification_reason(rule(**rule_fields), frozenset(segments), attributes or {}, context or {})


def test_segment_rules():
    assert reason({"type": "segment_required", "segments": ["premium"]}, ["premium"]) is None
    assert reason({"type": "segment_required", "segments": ["premium"]}) == "segment_required: missing 'premium'"
    assert (
        reason({"type": "segment_excluded", "segments": ["churned"]}, ["churned"]) == "segment_excluded: has 'churned'"
    )
    assert reason({"type": "segment_excluded", "segments": ["churned"]}, ["vip"]) is None


def test_attribute_rules_with_nested_propensity_scores():
    attrs = {"tier": "gold", "age": 30, "propensityScores": {"credit_card": 0.82}}
    equals = {"type": "attribute", "condition": {"field": "tier", "operator": "equals", "value": "gold"}}
    assert reason(equals, attributes=attrs) is None
    assert reason(equals, attributes={"tier": "silver"}).startswith("attribute: 'tier' is 'silver'")
    member = {"type": "attribute", "condition": {"field": "tier", "operator": "in", "values": ["gold", "platinum"]}}
    assert reason(member, attributes=attrs) is None and reason(member, attributes={}) is not None
    ranged = {
        "type": "attribute",
        "condition": {"field": "propensityScores.credit_card", "operator": "range", "min": 0.5, "max": 1},
    }
    assert reason(ranged, attributes=attrs) is None
    assert reason(ranged, attributes={"propensityScores": {"credit_card": 0.2}}) is not None
    assert reason(ranged, attributes={"propensityScores": {"credit_card": "high"}}) is not None
    exists = {"type": "attribute", "condition": {"field": "propensityScores.credit_card", "operator": "exists"}}
    assert reason(exists, attributes=attrs) is None and reason(exists, attributes={}) is not None


def test_rule_values_keep_their_json_type_and_booleans_never_equal_numbers():
    vip = {"type": "attribute", "condition": {"field": "vip", "operator": "equals", "value": True}}
    # The stored rule keeps the boolean its author wrote (lax validation made it 1)
    assert rule(**vip).condition.value is True
    assert reason(vip, attributes={"vip": True}) is None
    assert reason(vip, attributes={"vip": 1}) == "attribute: 'vip' is 1, needs True"
    assert reason(vip, attributes={"vip": 1.0}) is not None
    not_defaulted = {"type": "attribute", "condition": {"field": "defaulted", "operator": "equals", "value": False}}
    assert reason(not_defaulted, attributes={"defaulted": 0}) is not None
    assert reason(not_defaulted, attributes={"defaulted": False}) is None
    member = {"type": "attribute", "condition": {"field": "flag", "operator": "in", "values": [True, "x", 2]}}
    assert rule(**member).condition.values == [True, "x", 2]
    assert reason(member, attributes={"flag": 1}) is not None
    assert reason(member, attributes={"flag": 2.0}) is None  # numbers compare by value
    assert reason(member, attributes={"flag": "True"}) is not None


def test_a_range_rule_whose_min_exceeds_its_max_is_refused():
    with pytest.raises(ValidationError, match="range min must not exceed max"):
        rule(type="attribute", condition={"field": "age", "operator": "range", "min": 65, "max": 18})


def test_context_rules():
    mobile = {"type": "context", "condition": {"field": "device", "operator": "equals", "value": "mobile"}}
    assert reason(mobile, context={"device": "mobile"}) is None
    assert reason(mobile, context={"device": "desktop"}).startswith("context:")


def offer(offer_id, category="Cards", priority=50, creatives=(("c", "web", "hero"),)):
    return (
        "OFFER",
        {
            "id": offer_id,
            "name": offer_id,
            "category": category,
            "subCategory": None,
            "priority": priority,
            "weight": 100,
            "value": 0,
            "propensityKey": None,
            "startAt": None,
            "endAt": None,
            "expiresAt": None,
            "status": "active",
            "metadata": {},
            "createdAt": "x",
            "updatedAt": "x",
            "creatives": [
                {
                    "id": f"{offer_id}_{cid}",
                    "offerId": offer_id,
                    "name": cid,
                    "channelType": ch,
                    "channelName": None,
                    "channelId": None,
                    "placement": slot,
                    "templateType": None,
                    "content": {},
                    "personalization": {},
                    "constraints": {},
                    "weight": 100,
                    "abTestVariant": None,
                    "locale": None,
                    "createdAt": "x",
                }
                for cid, ch, slot in creatives
            ],
        },
    )


def policy(**fields):
    return ("POLICY", {"id": "cp_1", "createdAt": "x", "name": "p", **fields})


def guardrail(**fields):
    return ("GUARDRAIL", {"id": "gr_1", "createdAt": "x", "name": "g", **fields})


def run(entities, history=(), **request):
    snapshot = build_snapshot(list(entities), {})
    decision = engine.DecisionInput(tenant_id="t", customer_id="c", now=NOW, debug=True, **request)
    return engine.decide(snapshot, decision, Strategy(), list(history))


def chosen(result, part=0):
    return [item.offer.id for item in result.parts[part][1]]


def event(offer_id, outcome, ago, creative=None, category="Cards", channel="web"):
    return {
        "o": offer_id,
        "c": creative or f"{offer_id}_c",
        "k": category,
        "ch": channel,
        "t": outcome,
        "ts": NOW - ago,
    }


def test_frequency_cap_per_offer_creative_category_and_channel():
    catalog = [offer("a", priority=90), offer("b", priority=80, category="Loans")]
    shown_twice = [event("a", "impression", 100), event("a", "impression", 200)]
    for scope, expected in (("offer", ["b"]), ("creative", ["b"]), ("category", ["b"]), ("channel", [])):
        capped = run([*catalog, policy(type="frequency_cap", scope=scope, maxCount=2, windowSeconds=3600)], shown_twice)
        assert chosen(capped) == expected, scope
    # outside the window nothing is counted
    old = run([*catalog, policy(type="frequency_cap", maxCount=2, windowSeconds=150)], shown_twice)
    assert chosen(old) == ["a", "b"]


def test_cooldown_after_dismiss_and_after_convert():
    catalog = [offer("a", priority=90), offer("b", priority=80)]
    dismissed = [event("a", "dismiss", 60)]
    result = run([*catalog, policy(type="cooldown", durationSeconds=3600)], dismissed)
    assert chosen(result) == ["b"]
    assert result.trace["contactPolicyReasons"][0]["policyId"] == "cp_1"
    assert chosen(run([*catalog, policy(type="cooldown", durationSeconds=30)], dismissed)) == ["a", "b"]
    converted = [event("b", "convert", 60)]
    after_convert = policy(type="cooldown", durationSeconds=3600, triggerOutcomes=["convert"])
    assert chosen(run([*catalog, after_convert], converted)) == ["a"]
    assert chosen(run([*catalog, after_convert], dismissed)) == ["a", "b"]


def test_global_cap_per_day():
    catalog = [offer("a"), offer("b")]
    today = [event("x", "impression", 10), event("y", "impression", 20)]
    assert chosen(run([*catalog, policy(type="global_cap", maxCount=2)], today)) == []
    assert len(chosen(run([*catalog, policy(type="global_cap", maxCount=3)], today))) == 2


def test_guardrails():
    any_slot = (("c", "web", None),)
    catalog = [
        offer("a", priority=90, creatives=any_slot),
        offer("b", priority=80, creatives=any_slot),
        offer("c", priority=70, category="Loans", creatives=any_slot),
    ]
    per_category = run([*catalog, guardrail(type="max_per_category", maxCount=1)])
    assert chosen(per_category) == ["a", "c"]
    assert per_category.trace["guardrailReasons"][0]["offerId"] == "b"
    assert chosen(run([*catalog, guardrail(type="min_score", minScore=0.75)])) == ["a", "b"]
    shared = run([*catalog, guardrail(type="max_offer_share", maxShare=0.5)], placements=(("hero", 1), ("side", 1)))
    assert chosen(shared, 0) == ["a"] and chosen(shared, 1) == ["b"]  # 0.5 of 2 slots: each offer once
    unlimited = run([*catalog, guardrail(type="max_offer_share", maxShare=1)], placements=(("hero", 1), ("side", 1)))
    assert chosen(unlimited, 0) == ["a"] and chosen(unlimited, 1) == ["a"]
    capped = run([*catalog, guardrail(type="max_offer_share", maxShare=0.25)], placements=(("hero", 2), ("side", 2)))
    assert chosen(capped, 0) == ["a", "b"] and chosen(capped, 1) == ["c"]


def test_dedup_across_placements_is_sequential():
    catalog = [
        offer(name, priority=p, creatives=(("h", "web", "hero"), ("s", "web", "side")))
        for name, p in (("a", 90), ("b", 80), ("c", 70))
    ]
    result = run(catalog, placements=(("hero", 2), ("side", 2)), deduplicate=True)
    assert chosen(result, 0) == ["a", "b"] and chosen(result, 1) == ["c"]
    assert result.parts[1][1][0].creative.placement == "side"


def test_experiment_split_is_stable_and_within_one_point():
    ids = [f"customer-{n}" for n in range(10_000)]
    variants = [identity.assign_variant("t", "flow", i, challenger_share=0.2, holdout_share=0.05) for i in ids]
    assert abs(variants.count("challenger") / 10_000 - 0.20) < 0.01
    assert abs(variants.count("holdout") / 10_000 - 0.05) < 0.01
    again = [identity.assign_variant("t", "flow", i, challenger_share=0.2, holdout_share=0.05) for i in ids]
    assert again == variants


def test_anonymous_id_from_session_else_ip_and_user_agent():
    by_session = identity.anonymous_id("t", "sess-1", "1.2.3.4", "ua")
    assert by_session == identity.anonymous_id("t", "sess-1", "9.9.9.9", "other")
    assert by_session != identity.anonymous_id("t", "sess-2", "1.2.3.4", "ua")
    by_client = identity.anonymous_id("t", None, "1.2.3.4", "ua")
    assert by_client == identity.anonymous_id("t", None, "1.2.3.4", "ua")
    assert by_client != identity.anonymous_id("t", None, "1.2.3.4", "other-ua")
    assert by_client != identity.anonymous_id("u", None, "1.2.3.4", "ua")
    assert by_client.startswith("anon_")
