"""Arbiter: the shared package of every Lambda function (installed as the common layer)."""
