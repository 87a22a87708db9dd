"""Reporting: the stream-fed rollups of billed impressions and the analytics / revenue reports read from them."""
