"""Versioned message contracts: pydantic models are the source of truth."""
