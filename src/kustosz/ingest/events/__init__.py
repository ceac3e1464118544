"""IT-activity and security events (R1.10): syslog and JSON intake, categories, chunks."""
