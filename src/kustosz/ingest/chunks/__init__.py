"""The hourly/daily chunk spool mail and events both write to: appends made durable, chunks
rotated, closed and stored (`spool`), searched while still open (`pending`), intake counters
(`counters`) and the listener service they run under (`service`)."""
