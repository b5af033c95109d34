"""Adapters to libraries' internals, each behind one module with its own tests."""
