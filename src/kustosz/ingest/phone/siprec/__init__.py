"""Calls recorded by Kustosz itself, without a recording PBX (issue 35): a SIPREC recording
server (RFC 7866, metadata RFC 7865) that an office's SBC or PBX sends its calls' media to."""
