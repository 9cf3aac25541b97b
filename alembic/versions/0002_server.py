"""The web server: sites, tokens, users and roles, sessions, login attempts, schedule versions,
ingested site events, derived telemetry (samples and rollups), status.

Revision ID: 0002_server
Revises: 0001_event_log
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002_server"
down_revision: str | Sequence[str] | None = "0001_event_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_client_at", "login_attempts", ["client", "at"], unique=False)
    op.create_index("ix_login_attempts_username_at", "login_attempts", ["username", "at"], unique=False)

    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("ingested_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("name", name=op.f("uq_sites_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("locked_until", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "schedule_versions",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(length=80), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_schedule_versions_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", "version", name=op.f("pk_schedule_versions")),
    )
    op.create_table(
        "site_events",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("schema_version", sa.SmallInteger(), nullable=False),
        sa.Column("software_version", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "seq", name=op.f("pk_site_events")),
    )
    op.create_index("ix_site_events_site_id_kind_at", "site_events", ["site_id", "kind", "at"], unique=False)

    op.create_table(
        "site_status",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("heartbeat_at", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_status_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_status")),
    )
    op.create_table(
        "site_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_tokens_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_site_tokens_token_hash")),
    )
    op.create_table(
        "telemetry_rollups",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("level_s", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("grid_n", sa.Integer(), nullable=False),
        sa.Column("grid_sum", sa.Float(), nullable=False),
        sa.Column("grid_min", sa.Float(), nullable=True),
        sa.Column("grid_max", sa.Float(), nullable=True),
        sa.Column("battery_n", sa.Integer(), nullable=False),
        sa.Column("battery_sum", sa.Float(), nullable=False),
        sa.Column("battery_min", sa.Float(), nullable=True),
        sa.Column("battery_max", sa.Float(), nullable=True),
        sa.Column("soc_n", sa.Integer(), nullable=False),
        sa.Column("soc_sum", sa.Float(), nullable=False),
        sa.Column("soc_min", sa.Float(), nullable=True),
        sa.Column("soc_max", sa.Float(), nullable=True),
        sa.Column("setpoint_n", sa.Integer(), nullable=False),
        sa.Column("setpoint_sum", sa.Float(), nullable=False),
        sa.Column("setpoint_min", sa.Float(), nullable=True),
        sa.Column("setpoint_max", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "level_s", "start", name=op.f("pk_telemetry_rollups")),
    )
    op.create_table(
        "telemetry_samples",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("grid_w", sa.Float(), nullable=True),
        sa.Column("battery_w", sa.Float(), nullable=True),
        sa.Column("soc_pct", sa.Float(), nullable=True),
        sa.Column("setpoint_w", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("site_id", "at", "seq", name=op.f("pk_telemetry_samples")),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_user_roles_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "site_id", name=op.f("pk_user_roles")),
    )
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("user_sessions")
    op.drop_table("user_roles")
    op.drop_table("telemetry_samples")
    op.drop_table("telemetry_rollups")
    op.drop_table("site_tokens")
    op.drop_table("site_status")
    op.drop_index("ix_site_events_site_id_kind_at", table_name="site_events")

    op.drop_table("site_events")
    op.drop_table("schedule_versions")
    op.drop_table("users")
    op.drop_table("sites")
    op.drop_index("ix_login_attempts_username_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_client_at", table_name="login_attempts")

    op.drop_table("login_attempts")
