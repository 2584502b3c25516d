"""Repositories, one per table group; `tagent.store.Store` holds one of each."""
