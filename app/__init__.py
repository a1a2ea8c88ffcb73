"""Lantern: a self-hostable, multi-tenant, multilingual bug-reporting platform."""
