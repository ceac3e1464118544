"""sippy's parts Kustosz uses (its SIP message parser, SDP and multipart bodies), imported
through here and nowhere else, because importing sippy has a side effect that ends the
process with a segmentation fault at exit.

On import, sippy makes its reactor singleton (``sippy.Core.EventDispatcher.ED2``), whose
``ElPeriodic`` keeps a pointer into the importing thread's thread-local storage (a
``static __thread`` struct of libelperiodic, allocated by malloc for a library loaded by
ctypes). serve imports the SIP code in its SIPREC and capture threads; once such a thread
has ended, that memory is freed and reused, and at interpreter exit ``ElPeriodic.__del__``
calls ``prdic_free``, which reads the stale pointer and calls through garbage: exit status
139 (``tests/siprec/test_sip_stack_exit.py`` reproduces it). Kustosz never runs sippy's
reactor, so at exit the handle is simply forgotten: the process is ending, and the kernel
takes back what ``prdic_free`` would have freed.
"""

from __future__ import annotations

import atexit
import sys

from sippy.Exceptions.SdpParseError import SdpParseError
from sippy.MsgBody import MsgBody
from sippy.SdpBody import SdpBody
from sippy.SipHeader import SipHeader
from sippy.SipRequest import SipRequest
from sippy.SipResponse import SipResponse

__all__ = ["MsgBody", "SdpBody", "SdpParseError", "SipHeader", "SipRequest", "SipResponse"]


def _forget_reactor_timer() -> None:
    dispatcher = sys.modules.get("sippy.Core.EventDispatcher")
    ed2 = getattr(dispatcher, "ED2", None)
    timer = getattr(ed2, "elp", None)
    if timer is not None:
        timer._hndl = None  # ElPeriodic.__del__ frees only a handle it still has


atexit.register(_forget_reactor_timer)
