"""Reflex datastore: the YANG-modelled configuration (candidate, running, startup) and operational state, with validation, commit, rollback and persistence."""
