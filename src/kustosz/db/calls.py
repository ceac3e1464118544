"""Tables of call recordings (issue: call recordings). Empty for now."""
