"""Cross-cutting records: audit trail, notifications, the e-mail outbox, login tokens, numbering."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, restrict, utcnow


class AuditEvent(Model):
    """Who did what to which record, when, from which state to which, and why."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity_type", "entity_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(40), nullable=False)
    entity_id: Mapped[int] = mapped_column(Integer, nullable=False)
    entity_number: Mapped[str | None] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(120), nullable=False)
    customer_id: Mapped[int | None] = mapped_column(restrict("customer.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)

    actor = relationship(User)
    customer = relationship("Customer")

    def __str__(self) -> str:
        return f"{self.entity_number or self.entity_id} {self.action}: {self.from_status} → {self.to_status}"


class Notification(Model):
    """A portal (customer side) or staff-feed notification."""

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint("audience IN ('customer', 'staff')", name="audience_valid"),
        Index("ix_notification_customer_unread", "customer_id", "read_at", "created_at"),
        Index("ix_notification_audience_created", "audience", "created_at"),
        Index("ix_notification_staff_unread", "audience", "read_at", "user_id"),  # the staff navbar's badge
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audience: Mapped[str] = mapped_column(String(10), nullable=False)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(60), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    customer = relationship("Customer")
    user = relationship(User)

    def __str__(self) -> str:
        return self.title


class OutboxEmail(Model):
    """E-mail waiting to go out. The scheduler process sends it with retries and back-off."""

    __tablename__ = "outbox_email"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_valid"),
        Index("ix_outbox_email_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(255), nullable=False)
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list | None] = mapped_column(JSON)  # [{"filename", "content_type", "data"(base64)}]
    event: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10), default="pending", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: The X-Request-ID of the request that queued it (sent along as a header), for following it in the logs.
    request_id: Mapped[str | None] = mapped_column(String(64))

    def __str__(self) -> str:
        return f"{self.to_address}: {self.subject}"


class LoginToken(Model):
    """A passwordless login link or a password-reset link (``purpose``). Only the SHA-256 of the 32 random
    bytes is stored."""

    __tablename__ = "login_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    purpose: Mapped[str] = mapped_column(String(16), default="login", server_default="login", nullable=False)

    user = relationship(User)

    def __str__(self) -> str:
        return f"login link for {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class DocumentSequence(Model):
    """The counter behind each document number (REQ, EST, WO, INV, SHP)."""

    __tablename__ = "document_sequence"

    name: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class IdempotencyKey(Model):
    """The first answer to a creating POST with an ``Idempotency-Key`` header."""

    __tablename__ = "idempotency_key"
    __table_args__ = (Index("uq_idempotency_key_user_key", "user_id", "key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class StaffPreference(Model):
    """A staff user's own choices (one row per user, made when they first choose): the language of their
    screens, e-mails and notifications (None: the browser's, else the shop's default)."""

    __tablename__ = "staff_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(5))

    user = relationship(User)

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"
