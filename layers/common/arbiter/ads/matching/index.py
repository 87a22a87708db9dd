"""Candidate index over a snapshot of campaigns: a match evaluates only campaigns that can pass the cheap
filters that do not depend on money or session state (status, target category, accepted creative type,
geo country, the game's blocked advertisers and ad categories).

Campaigns are numbered in upper-bound order (highest cpm_bid_cents first, then priority, then id); each
index bucket is a Python int used as a bitmask over those numbers, so combining buckets is a few big-int
AND/OR operations (microseconds at 10,000 campaigns) and reading the result lowest bit first yields the
candidates in the order the pipeline's pruning needs.

The index is a superset filter: every campaign it leaves out fails one of the filters above, and every
campaign it returns still goes through all filters. Buckets:
- active: status == active;
- category: campaigns without target_categories, plus one bucket per targeted (normalized) category;
- creative type: one bucket per creative type a campaign has;
- geo: "open" campaigns (no include rule, or an include rule not tied to a country such as a radius) plus
  one bucket per country named by a country/state/city include rule;
- advertiser and ad category buckets, subtracted for the game's blocked advertisers and categories.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator

from arbiter.ads.matching.models import ACTIVE, ServingCampaign
from arbiter.core.text import normalize

_COUNTRY_BOUND_RULES = ("country", "state", "city")


def bound_order(campaign: ServingCampaign) -> tuple:
    return (-campaign.cpm_bid_cents, -campaign.priority, campaign.id)


class CampaignIndex:
    def __init__(self, campaigns: Iterable[ServingCampaign]):
        self.campaigns: tuple[ServingCampaign, ...] = tuple(sorted(campaigns, key=bound_order))
        ids = [campaign.id for campaign in self.campaigns]
        if len(set(ids)) != len(ids):
            raise ValueError("campaign ids must be unique")
        self.active = 0
        self.any_category = 0
        self.geo_open = 0
        self.by_category: dict[str, int] = defaultdict(int)
        self.by_creative_type: dict[str, int] = defaultdict(int)
        self.by_country: dict[str, int] = defaultdict(int)
        self.by_advertiser: dict[str, int] = defaultdict(int)
        self.by_ad_category: dict[str, int] = defaultdict(int)
        for position, campaign in enumerate(self.campaigns):
            bit = 1 << position
            if campaign.status == ACTIVE:
                self.active |= bit
            if campaign.target_categories:
                for category in campaign.target_categories:
                    self.by_category[category] |= bit
            else:
                self.any_category |= bit
            for creative_type in campaign.creative_types:
                self.by_creative_type[creative_type] |= bit
            includes = campaign.include_rules
            if not includes or any(
                rule.target_type not in _COUNTRY_BOUND_RULES or rule.country_code is None for rule in includes
            ):
                self.geo_open |= bit
            else:
                for rule in includes:
                    self.by_country[rule.country_code] |= bit
            self.by_advertiser[campaign.advertiser_id] |= bit
            if campaign.ad_category is not None:
                self.by_ad_category[campaign.ad_category] |= bit
        # Freeze into plain dicts: lookups of absent keys must not grow the index.
        self.by_category = dict(self.by_category)
        self.by_creative_type = dict(self.by_creative_type)
        self.by_country = dict(self.by_country)
        self.by_advertiser = dict(self.by_advertiser)
        self.by_ad_category = dict(self.by_ad_category)

    def __len__(self) -> int:
        return len(self.campaigns)

    def candidate_mask(
        self,
        *,
        category: str,
        placement_types: Iterable[str],
        country: str | None,
        blocked_advertisers: Iterable[str] = (),
        blocked_categories: Iterable[str] = (),
    ) -> int:
        """Bitmask of campaigns that may pass the indexed filters. category and blocked_categories are
        normalized (arbiter.core.text.normalize); country is upper case or None when unknown."""
        mask = self.active & (self.any_category | self.by_category.get(category, 0))
        accepted = 0
        for creative_type in placement_types:
            accepted |= self.by_creative_type.get(creative_type, 0)
        mask &= accepted
        mask &= self.geo_open | (self.by_country.get(country, 0) if country else 0)
        for advertiser_id in blocked_advertisers:
            mask &= ~self.by_advertiser.get(advertiser_id, 0)
        for ad_category in blocked_categories:
            mask &= ~self.by_ad_category.get(normalize(ad_category), 0)
        return mask

    def iter_mask(self, mask: int) -> Iterator[ServingCampaign]:
        """Campaigns in the mask, in upper-bound order (lowest bit first), produced lazily."""
        campaigns = self.campaigns
        while mask:
            low = mask & -mask
            yield campaigns[low.bit_length() - 1]
            mask ^= low
