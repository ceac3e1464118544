"""Calls recorded from a mirrored switch port (issue 35 item 2): SIP and RTP seen on an
interface, reassembled into calls. Built so far: the frames read (`frames.py`) and the SIP
dialogs followed (`dialogs.py`); the capture process and its wiring into serve are not."""
