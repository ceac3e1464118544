"""The accountability report (rozliczalność, art. 5 ust. 2 RODO; issue 53): for a month, a
quarter or a year, what the vault did with personal data, as one signed bundle."""
