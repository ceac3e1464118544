"""The append-only, hash-chained audit log (dziennik zdarzeń)."""

from kustosz.audit.log import AuditProblem, append
from kustosz.audit.verifier import verify

__all__ = ["AuditProblem", "append", "verify"]
