"""E-mail journal intake (R1.9): metadata of journalled business mail, never bodies by default."""
