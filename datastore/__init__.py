"""Reflex datastore: the YANG-modelled configuration (candidate, running, startup) and the
operational state, with validation, commit, rollback and crash-safe persistence."""

NS = "urn:reflex:yang:reflex-lb"
PREFIX = "rlb"

__all__ = ["NS", "PREFIX"]
