"""Storage: the tables, the engine, migrations and the queries the stages share."""
