"""The errors a handler raises to answer the user (defined in crm/errors.py, where the store raises them too)."""
from crm.errors import Ambiguous, NotFound, PermissionDenied, UserError

__all__ = ["Ambiguous", "NotFound", "PermissionDenied", "UserError"]
