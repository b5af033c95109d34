"""Observability: one JSON log line per request, Prometheus metrics, the admins' systemStatus."""
