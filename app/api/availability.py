"""``GET /api/v1/availability``: the free booking slots of a location (SPEC §8 Booking).

The same question and the same answer as the portal's and the public form's slot pickers and the
booking board (``availability.question`` and ``availability.free_slots``): every start where a booking of
the service type fits, inside the opening hours, with a free place in every slot it overlaps.
"""
from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, safe
from flask_appbuilder.security.decorators import permission_name, protect

from ..core.fields import UTCDateTime
from ..core.settings import get_settings
from ..services import availability
from .common import guarded, respond
from .openapi import RESPONSES, docstring, errors, json_content

_TIME = UTCDateTime()


def slot_json(slot: availability.Slot) -> dict:
    return {"start": _TIME._serialize(slot.start, None, None), "end": _TIME._serialize(slot.end, None, None),
            "local_start": slot.local_start.isoformat(), "free": slot.free, "capacity": slot.capacity}


class AvailabilityApi(BaseApi):
    resource_name = "availability"
    class_permission_name = "ApiServiceRequests"  # whoever may make requests may ask what is free
    allow_browser_login = False
    responses = {**BaseApi.responses, **RESPONSES}
    openapi_spec_tag = "Availability"

    @expose("", methods=["GET"])  # SPEC §8 names it without the slash: no redirect for it
    @expose("/", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def free(self):
        return self._free()

    @guarded
    def _free(self):
        args = request.args
        service_type, location, first, last = availability.question(
            args.get("service_type"), args.get("location"), args.get("from"), args.get("to"))
        slots = availability.free_slots(service_type, location, first, last)
        return respond(200, service_type=service_type.id if service_type else None, location=location.id,
                       slot_minutes=availability.slot_minutes(location), capacity=availability.capacity(location),
                       duration_minutes=int(availability.duration(service_type, location).total_seconds() // 60),
                       time_zone=get_settings().time_zone,
                       **{"from": first.isoformat(), "to": last.isoformat()},
                       slots=[slot_json(slot) for slot in slots])


_SLOT = {"type": "object", "properties": {
    "start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"},
    "local_start": {"type": "string", "format": "date-time"}, "free": {"type": "integer"},
    "capacity": {"type": "integer"}}, "required": ["start", "end", "local_start", "free", "capacity"]}

AvailabilityApi.free.__doc__ = docstring({"get": {
    "summary": "Free booking slots of a service location",
    "description": "Every start from `from` to `to` (shop days) where a booking of the service type fits: "
                   "inside the opening hours, not on a closed day, with a free place in every slot it "
                   "overlaps. `location` may be left out when exactly one location has opening hours.",
    "parameters": [
        {"in": "query", "name": "service_type", "required": False, "schema": {"type": "integer", "minimum": 1},
         "description": "Its duration decides how many slots a booking takes (default one)."},
        {"in": "query", "name": "location", "required": False, "schema": {"type": "integer", "minimum": 1}},
        {"in": "query", "name": "from", "required": False, "schema": {"type": "string", "format": "date"},
         "description": "Default today."},
        {"in": "query", "name": "to", "required": False, "schema": {"type": "string", "format": "date"},
         "description": f"Default a week from `from`; at most {availability.MAX_DAYS} days."},
    ],
    "responses": {
        "200": {"description": "The free slots", "content": json_content({"type": "object", "properties": {
            "service_type": {"type": ["integer", "null"]}, "location": {"type": "integer"},
            "slot_minutes": {"type": "integer"}, "capacity": {"type": "integer"},
            "duration_minutes": {"type": "integer"}, "time_zone": {"type": "string"},
            "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
            "slots": {"type": "array", "items": _SLOT}},
            "required": ["location", "slot_minutes", "capacity", "from", "to", "slots"]})},
        **errors(400, 401, 403, 422, 429),
    },
}})
