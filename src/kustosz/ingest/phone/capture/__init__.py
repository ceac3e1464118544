"""Calls recorded from a mirrored switch port (issue 35 item 2): SIP and RTP seen on an
interface, reassembled into calls. The capture process (helper.py, `kustosz capture`: the only
part holding CAP_NET_RAW, parsing nothing) hands the frames over capture.sock (wire.py) to
serve's recorder (recorder.py, run.py), which reads them (frames.py), follows the SIP dialogs
(dialogs.py) and records each answered call within the office's scope as SIPREC's are."""
