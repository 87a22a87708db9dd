"""Campaigns and their embedded children: creatives, geo targets, blocklist rules and affinities (decisions D5)."""
