"""The query result cache: versioned keys over Redis (or an in-process LRU), failing open."""
