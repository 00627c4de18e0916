"""iCalendar (.ics) attachments for confirmed bookings (RFC 5545)."""
from __future__ import annotations

import base64
import datetime as dt

from ..core.settings import get_settings
from ..models import ServiceRequest, utcnow


def _escape(text: str) -> str:
    return (text or "").replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _stamp(value: dt.datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def booking_ics(req: ServiceRequest) -> dict:
    """An outbox attachment: ``{"filename", "content_type", "data"}`` with base64 data."""
    settings = get_settings()
    minutes = req.service_type.duration_minutes if req.service_type else 60
    start = req.scheduled_start
    end = start + dt.timedelta(minutes=minutes)
    location = req.service_location.postal_address if req.service_location else (
        req.address.one_line() if req.address else settings.address or "")
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Portico//Booking//EN", "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{req.number}@portico",
        f"DTSTAMP:{_stamp(utcnow())}",
        f"DTSTART:{_stamp(start)}",
        f"DTEND:{_stamp(end)}",
        f"SUMMARY:{_escape(f'{settings.shop_name}: {req.subject} ({req.number})')}",
        f"LOCATION:{_escape(location)}",
        f"DESCRIPTION:{_escape(req.summary or '')}",
        "END:VEVENT", "END:VCALENDAR",
    ]
    data = "\r\n".join(lines) + "\r\n"
    return {"filename": f"{req.number}.ics", "content_type": "text/calendar",
            "data": base64.b64encode(data.encode()).decode()}
