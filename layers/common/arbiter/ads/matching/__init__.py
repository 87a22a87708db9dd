"""Ads matching: eligibility, affinity scoring and arbitration for POST /api/ads/match and the simulator.

Pure code on frozen snapshots (models.py); the serving cache that loads campaigns and the HTTP layer live
elsewhere. Build a CampaignIndex once per snapshot and call engine.match / engine.simulate.
"""
