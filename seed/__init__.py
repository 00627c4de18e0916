"""Seed data. ``load(demo=True)`` is called by ``flask --app run seed --demo``."""


def load(demo: bool = False) -> str:
    from .reference import load_booking_rules, load_reference

    summary = [load_reference()]
    if demo:
        from .demo import load_demo

        summary.append(load_demo())
    summary.append(load_booking_rules())  # after the history: those bookings predate the shop's hours
    return "\n".join(summary)
