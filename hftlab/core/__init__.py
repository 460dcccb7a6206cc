"""Ground floor: backoff, rate limits, metrics primitives, config loading, logs, secrets, JSON. Imports no hftlab."""
