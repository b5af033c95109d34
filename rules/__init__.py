"""Rules both execution paths apply, one module each, with the Python and SQL forms side by side:
Strawberry's resolvers and the cache use the Python forms, the compiled path (fastpath/) and the
data layer's queries the SQL forms. Nothing here imports the rest of the project, so every layer
may import it. (The signed-in predicate reads two tables: it is `db.sessions.session_is_valid`.)"""
