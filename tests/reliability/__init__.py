"""End-to-end reliability: `kustosz serve` through outages of its database (issue 27)."""
