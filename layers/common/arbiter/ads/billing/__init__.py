"""Exactly-once impression billing: one DynamoDB transaction charges, credits and records each impression."""
