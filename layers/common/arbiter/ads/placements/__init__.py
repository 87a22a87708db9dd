"""Developer placements: which games take ads, which creative types, revenue share and blocklists (seed 001)."""
