"""Parsing what a PBX leaves behind: CDR lines, recording file names, sidecar files.

Everything here is pure: no database, and no I/O beyond reading the files it is handed.
"""
