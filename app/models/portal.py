"""Portal sign-in records: one row per login session, one per public-form submission."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, utcnow


class PortalSession(Model):
    """A customer's login (by e-mail link or password) on one device.

    The browser's session cookie holds a random key whose SHA-256 is ``key_hash``. An ended session
    (``ended_at``) is refused on its next request, so a customer can sign out a lost phone from elsewhere.
    """

    __tablename__ = "portal_session"
    __table_args__ = (Index("ix_portal_session_user_ended", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    login_token_id: Mapped[int | None] = mapped_column(ForeignKey("login_token.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(10), nullable=False)  # link / password / reset / form
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    last_used_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user = relationship(User)

    def __str__(self) -> str:
        return f"session {self.id} of user {self.user_id}"


class PublicSubmission(Model):
    """The one-time token of a public request form: a second post of it finds this row, not a new request."""

    __tablename__ = "public_submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    service_request_id: Mapped[int | None] = mapped_column(ForeignKey("service_request.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    service_request = relationship("ServiceRequest")


class CredentialRevocation(Model):
    """Every credential of a user issued before ``revoked_at`` is void: web sessions, JWTs (their ``iat``),
    API keys. Written when a password is reset or changed, and when a login is archived or locked."""

    __tablename__ = "credential_revocation"

    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
