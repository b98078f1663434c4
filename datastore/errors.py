"""Errors the datastore raises: each carries one line a user can read."""


class DatastoreError(Exception):
    """A request the datastore refused; str() is one line for the user."""

    tag = "operation-failed"


class ValidationError(DatastoreError):
    """The configuration breaks the YANG model; .errors holds every finding."""

    tag = "invalid-value"

    def __init__(self, errors: list[str]):
        self.errors = errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{errors[0]}{more}")


class LockedError(DatastoreError):
    """Another session holds the configuration lock."""

    tag = "lock-denied"


class EditError(DatastoreError):
    """An edit that cannot be applied (missing node, existing node, bad path)."""


class DataExists(EditError):
    tag = "data-exists"


class DataMissing(EditError):
    tag = "data-missing"


class ApplyError(DatastoreError):
    """An applier (the packet filter, ...) refused the commit."""


class ConflictError(DatastoreError):
    """The candidate's edits no longer apply to the running configuration."""
