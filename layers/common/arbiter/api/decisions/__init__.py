"""Decisions API routers (seed 002)."""
