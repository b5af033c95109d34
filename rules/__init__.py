"""Rules both execution paths apply, each in one module with its Python and SQL forms side by
side: Strawberry's resolvers and the cache use the Python form, the compiled path (fastpath/)
and the data layer's queries the SQL form."""
