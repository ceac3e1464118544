"""Alembic environment: the engine is handed over by kustosz.db.migrate."""

from alembic import context

from kustosz.db.jobs import outside_model
from kustosz.db.schema import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      # the job queue's tables are made by 0020, outside the model
                      include_name=lambda name, type_, _parents: not outside_model(name, type_))
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # A migration of a large index may outlast the limit ordinary work runs under
            # (db/engine.SESSION_LIMITS); LOCAL: the pooled connection keeps its limits.
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
        context.run_migrations()
    connection.commit()
