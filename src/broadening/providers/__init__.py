"""Providers: each turns one source into the canonical tables (DESIGN §4), nothing more."""
