"""Background jobs: `python -m workers` runs a worker; without Redis the API runs them."""

from workers.worker import WorkerSettings

__all__ = ["WorkerSettings"]
