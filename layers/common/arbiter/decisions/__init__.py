"""Decisions (seed 002): a tenant's catalog (offers, creatives, qualification rules, contact policies,
guardrails, decision flows), /api/v1/recommend on top of arbiter.core's pipeline, and /api/v1/respond."""
