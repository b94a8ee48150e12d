"""Alembic environment: the service passes its own connection (cds_service.migrations.upgrade); the alembic
command line gets one from alembic.ini's sqlalchemy.url or CDS_DATABASE_URL."""

import os

from alembic import context

from cds_service.migrations import target_metadata
from cds_service.web.store import make_engine

config = context.config


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata(), compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(os.environ.get("CDS_DATABASE_URL") or config.get_main_option("sqlalchemy.url"))
    with engine.begin() as own_connection:
        run(own_connection)
