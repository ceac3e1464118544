"""The rule of what a hold covers and what mirrors it: the coverage rule (coverage), the
object store's legal holds and retention dates kept in step with it (object_lock), and what
the audit log records of holds and deletions (record). Below custody and retention, which
both apply it, and below the index, whose expiry lengthens the store's locks."""
