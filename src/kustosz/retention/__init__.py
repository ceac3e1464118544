"""The retention sweep: expire, honour holds, delete, record each deletion."""

from kustosz.retention.pressure import relieve_pressure
from kustosz.retention.sweep import SweepReport, recover, run_sweep

__all__ = ["SweepReport", "recover", "relieve_pressure", "run_sweep"]
