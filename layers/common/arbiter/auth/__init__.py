"""API keys, tenants and the principal a request acts as."""
