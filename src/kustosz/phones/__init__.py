"""The register of phone lines: each line's settings (its spool, call records, the
office's own numbers), read by the intake and by custody alike."""
