"""Where the rollups live: the impressions table, under AGG#... partitions (decisions: "Analytics rollups").

- campaign counters: PK `AGG#CAMP#<campaign_id>`, SK `DAY#<date>`, `CRT#<creative_id>`, `GEO#<country or ZZ>`,
  `GAME#<game_id>`, `AFF#<affinity_id>`
- campaign unique-user sketches: PK `AGG#CAMP#<campaign_id>#USERS`, SK `ALL`, `DAY#<date>`, `CRT#<creative_id>`,
  `GEO#<country>`; their members are players per game (facts.unique_user_key)
- game (creator) counters: PK `AGG#GAME#<game_id>`, SK `DAY#<date>`, `ADV#<advertiser_id>`

One Query on a campaign's counter partition returns every breakdown of it; sketches sit in their own partition so
the counter reads never pull ~10 KB register blobs. The stream's filter only delivers `IMP#` inserts, so these
writes never feed back into the aggregator.
"""

UNKNOWN_COUNTRY = "ZZ"  # ISO 3166 user-assigned code: impressions whose player country is not known

DAY = "DAY#"
CREATIVE = "CRT#"
COUNTRY = "GEO#"
GAME = "GAME#"
AFFINITY = "AFF#"
ADVERTISER = "ADV#"
ALL_USERS = "ALL"


def campaign_counters_pk(campaign_id: str) -> str:
    return f"AGG#CAMP#{campaign_id}"


def campaign_sketches_pk(campaign_id: str) -> str:
    return f"AGG#CAMP#{campaign_id}#USERS"


def game_counters_pk(game_id: str) -> str:
    return f"AGG#GAME#{game_id}"


def impression_key(impression_id: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"IMP#{impression_id}"}, "SK": {"S": "IMP"}}
