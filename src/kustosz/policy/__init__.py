"""Office policies: retention periods, request deadlines, copy lifetime, call scope."""

from kustosz.policy.model import Policy, load_policy, preset_names
from kustosz.policy.periods import Period

__all__ = ["Period", "Policy", "load_policy", "preset_names"]
