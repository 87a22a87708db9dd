"""Ad serving: POST /api/ads/match on top of the pure matching engine (arbiter.ads.matching).

models.py: the /match input and output. repository.py: the DynamoDB reads serving needs and the per-session
count of ads served. cache.py: the per warm instance candidate cache (every active campaign, its ledger and its
advertiser's balance, indexed) and placement cache. logic.py: one match. simulator.py / simulator_models.py: the
campaign simulator.
"""
