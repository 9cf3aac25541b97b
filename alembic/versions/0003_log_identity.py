"""Log identity: the event log stores its own id; the server keys its copy of events by (site, log, seq).

Existing server data becomes each site's legacy log (``log_id`` ``""``) with the site's cursor; an
existing event log gets its identity on its first open after this upgrade (see ``storage/event_log.py``).

Revision ID: 0003_log_identity
Revises: 0002_server
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003_log_identity"
down_revision: str | Sequence[str] | None = "0002_server"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "log_identity",
        sa.Column("log_id", sa.String(length=32), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("log_id", name=op.f("pk_log_identity")),
    )
    op.create_table(
        "site_logs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("log_id", sa.String(length=32), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("ingested_seq", sa.BigInteger(), nullable=False),
        sa.Column("first_seen_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_logs_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_logs")),
        sa.UniqueConstraint("site_id", "log_id", name=op.f("uq_site_logs_site_id")),
    )
    # Every site's existing events form its legacy log, with the site's cursor.
    op.execute(
        "INSERT INTO site_logs (site_id, log_id, first_seq, ingested_seq, first_seen_at) "
        "SELECT id, '', 1, ingested_seq, created_at FROM sites"
    )
    with op.batch_alter_table("site_events", recreate="always") as batch:
        batch.add_column(sa.Column("log", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("pk_site_events", type_="primary")
        batch.create_primary_key("pk_site_events", ["site_id", "log", "seq"])
    op.execute(
        "UPDATE site_events SET log = (SELECT site_logs.id FROM site_logs "
        "WHERE site_logs.site_id = site_events.site_id AND site_logs.log_id = '')"
    )
    with op.batch_alter_table("site_events") as batch:
        batch.alter_column("log", server_default=None, existing_type=sa.Integer(), existing_nullable=False)


def downgrade() -> None:
    # Events of later logs cannot share (site_id, seq) with the legacy log: keep only the legacy ones.
    op.execute("DELETE FROM site_events WHERE log NOT IN (SELECT id FROM site_logs WHERE log_id = '')")
    with op.batch_alter_table("site_events", recreate="always") as batch:
        batch.drop_constraint("pk_site_events", type_="primary")
        batch.create_primary_key("pk_site_events", ["site_id", "seq"])
        batch.drop_column("log")
    op.drop_table("site_logs")
    op.drop_table("log_identity")
