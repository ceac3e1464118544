"""Taking material into the vault, one module per source kind."""
