"""Small helpers every layer may use, knowing nothing of the domain: the clock and time
wording, string shaping, secret redaction, and log lines with their context."""
