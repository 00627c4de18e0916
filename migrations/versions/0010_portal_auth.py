"""Portal sign-in: login sessions, one-time public-form tokens, the purpose of a login token.

Revision ID: 0010_portal_auth
Revises: 0007_scheduler
Create Date: 2026-11-23

``login_token.purpose`` tells a login link ("login") from a password-reset link ("password_reset").
``portal_session`` is one row per portal login (the cookie carries its key), so a customer can list and
end their other sessions. ``public_submission`` makes a double-posted public request form create one request.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_portal_auth"
down_revision = "0007_scheduler"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("login_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.String(length=16), server_default="login", nullable=False))

    op.create_table(
        "portal_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("login_token_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"], name=op.f("fk_portal_session_user_id_ab_user"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["login_token_id"], ["login_token.id"],
                                name=op.f("fk_portal_session_login_token_id_login_token"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_session")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_portal_session_key_hash")),
    )
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.create_index("ix_portal_session_user_ended", ["user_id", "ended_at"], unique=False)

    op.create_table(
        "public_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("service_request_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["service_request_id"], ["service_request.id"],
                                name=op.f("fk_public_submission_service_request_id_service_request"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_submission")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_public_submission_token_hash")),
    )


def downgrade():
    op.drop_table("public_submission")
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_session_user_ended")
    op.drop_table("portal_session")
    with op.batch_alter_table("login_token", schema=None) as batch_op:
        batch_op.drop_column("purpose")
