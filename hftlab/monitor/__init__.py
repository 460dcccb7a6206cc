"""Monitoring: Prometheus export of the metrics components own, health, and the resource guard."""
