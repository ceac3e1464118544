"""Issue 14 item 9: the server's clock watched against its steady clock and the cameras'
clocks, and material recorded across a jump kept from the later reading of its time."""

from kustosz.clock.watch import (
    ClockWatch,
    before_sweep,
    behind_s,
    camera_offset,
    generation,
    lag_for,
    watch_of,
)

__all__ = ["ClockWatch", "before_sweep", "behind_s", "camera_offset", "generation", "lag_for",
           "watch_of"]
