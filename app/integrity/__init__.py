"""Prize integrity: contest staff kept out of their own contest, the signals a jury needs to see
accounts that may be one person (device and address events), the suspicious-accounts report and
the exclusion of an account from a round's results."""
