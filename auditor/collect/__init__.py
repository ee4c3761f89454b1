"""Collectors: read each half of a tenant through the real SDKs into a TenantSnapshot."""
