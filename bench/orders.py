"""Work orders and the documents around them, as rows for Core inserts.

Orders are spread evenly over ``SPAN`` ending at ``now``, numbered in time order. Their status follows
their age: old orders are completed or cancelled, the last weeks hold every open state. Around each order:
a service request for about half of the non-reseller ones, an approved estimate (sometimes a second
revision after a dispute) for a good share, work items, a shipment for resellers, and an invoice with
payments once the order is completed. Extra requests that never became an order (new, proposed, rejected,
cancelled, accepted with a pending estimate) keep the request and estimate lists realistic.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from . import catalog as c
from .people import ORDER_WEIGHT, CustomerInfo

SPAN = dt.timedelta(days=3 * 365)
TAX_RATE = 19
STAGES = ("pending_confirmation", "confirmed", "received", "in_progress", "ready", "completed")
STAGE = {name: n for n, name in enumerate(STAGES)}
#: Status weights by the order's age in days (up to the bound).
STATUS_BY_AGE = (
    (14, ((STAGES[0], 12), (STAGES[1], 22), (STAGES[2], 18), (STAGES[3], 20), (STAGES[4], 10),
          (STAGES[5], 13), ("cancelled", 5))),
    (45, ((STAGES[0], 1), (STAGES[1], 2), (STAGES[2], 3), (STAGES[3], 8), (STAGES[4], 8), (STAGES[5], 70),
          ("cancelled", 8))),
    (None, ((STAGES[5], 90), ("cancelled", 10))),
)
AUDIT = {  # the transition that led to each status: (action, from)
    "pending_confirmation": ("create", None), "confirmed": ("confirm", "pending_confirmation"),
    "received": ("receive", "confirmed"), "in_progress": ("clock_on", "received"), "ready": ("ready", "in_progress"),
    "completed": ("complete", "ready"),
}
TABLES = ("service_request", "estimate", "labour_line", "part_line", "dispute_note", "shipment", "work_order",
          "work_item", "invoice", "invoice_line", "payment", "audit_event")


def weighted(rng, pairs):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def money(cents: int) -> Decimal:
    return Decimal(cents) / 100


def tax_of(cents: int) -> int:
    return (cents * TAX_RATE + 50) // 100


class Orders:
    """``build(first, last)`` returns the rows of orders ``first``…``last - 1`` by table, in insert order."""

    def __init__(self, rng, ids, refs, customers: list[CustomerInfo], now: dt.datetime, total: int):
        self.rng, self.ids, self.refs, self.now, self.total = rng, ids, refs, now, total
        self.start = now - SPAN
        self.pick = [cust for cust in customers for _ in range(ORDER_WEIGHT[cust.kind])]
        self.requesters = [cust for cust in customers if cust.kind != "reseller"] or customers
        self.counters = {"REQ": 0, "EST": 0, "WO": 0, "INV": 0, "SHP": 0}

    def number(self, prefix: str) -> str:
        self.counters[prefix] += 1
        return f"{prefix}-{self.counters[prefix]:06d}"

    def build(self, first: int, last: int) -> dict[str, list[dict]]:
        self.rows = {table: [] for table in TABLES}
        self.shippable: list[dict] = []
        for i in range(first, last):
            self._order(i)
        self._shipments()
        return self.rows

    # -- one order -------------------------------------------------------------------------------------------
    def _order(self, i: int) -> None:
        rng, now = self.rng, self.now
        created = self.start + SPAN * ((i + rng.random()) / self.total)
        age = (now - created).total_seconds() / 86400
        cust = rng.choice(self.pick)
        status = weighted(rng, next(w for bound, w in STATUS_BY_AGE if bound is None or age <= bound))
        if status == "pending_confirmation" and cust.kind == "reseller":
            status = "confirmed"  # resellers' orders are confirmed at once
        unit_id, unit_kind = rng.choice(cust.units)
        job = self._job(unit_kind)
        sr_id = est_id = None
        if cust.kind != "reseller" and rng.random() < 0.5:
            sr_id = self._request(cust, unit_id, created - dt.timedelta(hours=rng.randint(4, 120)), "resolved")
        if status != "pending_confirmation" and rng.random() < (0.6 if sr_id else 0.2):
            est_id, line_ids = self._estimate(cust, unit_id, sr_id, job, created, "approved")
        else:
            line_ids = [None] * len(job)
        stage, sched, ev = self._timeline(created, status)
        wo_id = self.ids.next("work_order")
        location = cust.location_id if cust.kind == "reseller" else rng.choice(self.refs["service_location"])
        last = max(ev.values(), default=created)
        wo = {
            "id": wo_id, "number": self.number("WO"), "kind": self._kind(unit_kind), "status": status,
            "customer_id": cust.id, "unit_id": unit_id, "service_request_id": sr_id, "estimate_id": est_id,
            "service_location_id": location,
            "shipping_method_id": cust.method_id, "shipment_id": None,
            "technician_id": rng.choice(self.refs["technician"]) if "received" in ev and rng.random() < 0.9 else None,
            "fault": rng.choice(c.FAULTS[unit_kind]), "accessories": "Charger" if rng.random() < 0.2 else None,
            "customer_reference": f"PO-{rng.randrange(10**6):06d}" if cust.kind != "individual" else None,
            "internal_reference": None, "tracking_number": None, "public_notes": None, "internal_notes": None,
            "scheduled_start": sched, "scheduled_end": sched + dt.timedelta(hours=2) if sched else None,
            "received_at": ev.get("received"), "ready_at": ev.get("ready"), "completed_at": ev.get("completed"),
            "cancel_reason": rng.choice(c.CANCEL_REASONS) if status == "cancelled" else None,
            "created_by_id": None, "version": 1 + len(ev), "created_at": created, "updated_at": last,
        }
        self.rows["work_order"].append(wo)
        self._work_items(wo_id, job, line_ids, status)
        if status == "completed" or (status == "ready" and rng.random() < 0.4):
            self._invoice(cust, wo, job)
        action, source = AUDIT.get(status) or ("cancel", STAGES[stage])
        self._audit("work_order", wo, action, source, status, last, wo["cancel_reason"])
        if cust.kind == "reseller" and status in STAGES[1:]:
            self.shippable.append(wo)
        if rng.random() < 0.12:
            self._open_request(created, age)

    def _kind(self, unit_kind: str) -> str:
        weights = ((("job", 35), ("repair", 40), ("inspection", 25)) if unit_kind == "vehicle"
                   else (("job", 50), ("repair", 45), ("inspection", 5)))
        return weighted(self.rng, weights)

    def _job(self, unit_kind: str) -> list[tuple]:
        """Labour lines ``(description, quarter hours, rate cents, parts)``, parts ``(pn, text, qty, cents)``."""
        rng = self.rng
        job = []
        for _ in range(weighted(rng, ((1, 55), (2, 30), (3, 15)))):
            parts = [(pn, text, rng.choice((1, 1, 1, 2, 4)), cents)
                     for pn, text, cents in rng.sample(c.PARTS[unit_kind], weighted(rng, ((0, 35), (1, 45), (2, 20))))]
            job.append((rng.choice(c.LABOUR[unit_kind]), rng.randint(2, 16), rng.choice(c.LABOUR_RATES), parts))
        return job

    def _timeline(self, created: dt.datetime, status: str):
        """The order's stage reached, its booked start and its event times, all before ``now``."""
        rng, minutes = self.rng, dt.timedelta(minutes=1)
        stage = STAGE.get(status)
        if stage is None:  # cancelled: from the stage it had reached
            stage = weighted(rng, ((0, 20), (1, 50), (2, 20), (3, 10)))
        sched, ev, t = None, {}, created
        if stage >= 1:
            sched = (created + dt.timedelta(days=rng.randint(1, 7))).replace(hour=rng.choice((8, 13)), minute=0,
                                                                            second=0, microsecond=0)
        for n, name, low, high in ((2, "received", 0, 240), (3, "started", 30, 2880), (4, "ready", 120, 5760),
                                   (5, "completed", 60, 4320)):
            if stage >= n:
                t = ev[name] = (sched if n == 2 else t) + minutes * rng.randint(low, high)
        if status == "cancelled":
            ev["cancelled"] = t + minutes * rng.randint(60, 4320)
        last = max(ev.values(), default=created)
        if last > self.now:  # a young order that got far: squeeze its history into the time it had
            factor = max((self.now - created) / (last - created), 0)
            ev = {k: created + (v - created) * factor for k, v in ev.items()}
        if "received" in ev:
            sched = min(sched, ev["received"])
        return stage, sched, ev

    # -- requests and estimates ------------------------------------------------------------------------------
    def _request(self, cust: CustomerInfo, unit_id, created: dt.datetime, status: str) -> int:
        rng = self.rng
        sr_id = self.ids.next("service_request")
        booked = status in ("accepted", "resolved")
        start = (created + dt.timedelta(days=rng.randint(1, 10))).replace(hour=9, minute=0, second=0, microsecond=0)
        slot = weighted(rng, (("morning", 50), ("afternoon", 35), ("evening", 10), ("custom", 5)))
        source = weighted(rng, (("portal", 55), ("staff", 30), ("public", 15)))
        self.rows["service_request"].append({
            "id": sr_id, "number": self.number("REQ"), "customer_id": cust.id,
            "service_type_id": rng.choice(self.refs["service_type"]), "service_location_id": cust.location_id,
            "address_id": cust.address_id, "unit_id": unit_id, "subject": rng.choice(c.FAULTS["device"]),
            "summary": None, "preferred_date": start.date(), "preferred_slot": slot,
            "preferred_time": dt.time(rng.randint(8, 17), 0) if slot == "custom" else None,
            "estimate_required": rng.random() < 0.5, "status": status,
            "scheduled_start": start if booked else None, "scheduled_slot": slot if booked else None,
            "confirmed_at": created + dt.timedelta(hours=rng.randint(1, 30)) if booked else None,
            "decline_reason": rng.choice(c.DECLINE_REASONS) if status == "rejected" else None,
            "cancel_reason": "Customer cancelled" if status == "cancelled" else None, "source": source,
            "contact_name": cust.name if source == "public" else None,
            "contact_email": cust.email if source == "public" else None,
            "contact_phone": cust.phone if source == "public" else None,
            "created_by_id": None, "version": 1 if status == "new" else 2, "created_at": created, "updated_at": created,
        })
        return sr_id

    def _open_request(self, created: dt.datetime, age: float) -> None:
        """A request that did not (yet) become a work order, maybe with an estimate under way."""
        rng = self.rng
        cust = rng.choice(self.requesters)
        if age <= 14:
            status = weighted(rng, (("new", 40), ("time_proposed", 25), ("accepted", 20), ("cancelled", 10),
                                    ("rejected", 5)))
        else:
            status = weighted(rng, (("rejected", 35), ("cancelled", 45), ("accepted", 20)))
        unit_id, unit_kind = rng.choice(cust.units)
        sr_id = self._request(cust, unit_id, created, status)
        if status == "accepted" and rng.random() < 0.7:
            choices = (("draft", 30), ("sent", 45), ("disputed", 25)) if age <= 14 else (
                ("declined", 40), ("cancelled", 30), ("sent", 30))
            self._estimate(cust, unit_id, sr_id, self._job(unit_kind), created + dt.timedelta(days=1),
                           weighted(rng, choices))

    def _estimate(self, cust, unit_id, sr_id, job, decided: dt.datetime, status: str):
        """One estimate (two revisions after a dispute, now and then); returns its id and labour line ids."""
        rng = self.rng
        number = self.number("EST")
        previous = None
        if status == "approved" and rng.random() < 0.06:
            previous, _ = self._revision(cust, unit_id, sr_id, job, number, 1, None, "superseded",
                                         decided - dt.timedelta(days=4))
            self.rows["dispute_note"].append({
                "id": self.ids.next("dispute_note"), "estimate_number": number, "estimate_id": previous,
                "side": "customer", "author_id": None, "text": "The part price seems high, please check.",
                "line_ref": None, "created_at": decided - dt.timedelta(days=3),
            })
        return self._revision(cust, unit_id, sr_id, job, number, 2 if previous else 1, previous, status, decided)

    def _revision(self, cust, unit_id, sr_id, job, number, revision, previous, status, decided):
        rng = self.rng
        est_id = self.ids.next("estimate")
        created = decided - dt.timedelta(days=1, hours=rng.randint(0, 20))
        sent = status not in ("draft", "cancelled")
        line_ids, subtotal = [], 0
        for pos, (text, qh, rate, parts) in enumerate(job):
            line_id = self.ids.next("labour_line")
            line_ids.append(line_id)
            subtotal += qh * rate // 4
            self.rows["labour_line"].append({
                "id": line_id, "estimate_id": est_id, "position": pos, "description": text, "hours": Decimal(qh) / 4,
                "rate": money(rate), "disputed": status == "disputed" and pos == 0,
                "dispute_note": "Why is this needed?" if status == "disputed" and pos == 0 else None,
            })
            for ppos, (pn, ptext, qty, cents) in enumerate(parts):
                subtotal += qty * cents
                self.rows["part_line"].append({
                    "id": self.ids.next("part_line"), "labour_line_id": line_id, "position": ppos, "part_number": pn,
                    "description": ptext, "quantity": Decimal(qty), "unit_price": money(cents), "disputed": False,
                    "dispute_note": None,
                })
        self.rows["estimate"].append({
            "id": est_id, "number": number, "revision": revision, "customer_id": cust.id,
            "service_request_id": sr_id, "unit_id": unit_id, "previous_id": previous, "status": status,
            "acknowledged_at": None, "tax_rate": Decimal(TAX_RATE), "subtotal": money(subtotal),
            "tax": money(tax_of(subtotal)), "total": money(subtotal + tax_of(subtotal)), "note": None,
            "decline_reason": rng.choice(c.DECLINE_REASONS) if status == "declined" else None,
            "sent_at": created + dt.timedelta(hours=2) if sent else None,
            "decided_at": decided if status in ("approved", "declined", "superseded") else None,
            "created_by_id": None, "version": 3 if sent else 1, "created_at": created, "updated_at": decided,
        })
        return est_id, line_ids

    # -- work items, invoices, shipments, audit --------------------------------------------------------------
    def _work_items(self, wo_id, job, line_ids, status) -> None:
        rng, done_all = self.rng, status in ("ready", "completed")
        for pos, ((text, qh, rate, parts), line_id) in enumerate(zip(job, line_ids, strict=True)):
            item_id = self.ids.next("work_item")
            self.rows["work_item"].append({
                "id": item_id, "work_order_id": wo_id, "parent_id": None, "position": pos, "kind": "labour",
                "part_number": None, "description": text, "quantity": Decimal(qh) / 4, "unit_price": money(rate),
                "done": done_all or (status == "in_progress" and rng.random() < 0.4), "labour_line_id": line_id,
            })
            for ppos, (pn, ptext, qty, cents) in enumerate(parts):
                self.rows["work_item"].append({
                    "id": self.ids.next("work_item"), "work_order_id": wo_id, "parent_id": item_id,
                    "position": ppos, "kind": "part", "part_number": pn, "description": ptext,
                    "quantity": Decimal(qty), "unit_price": money(cents), "done": done_all, "labour_line_id": None,
                })

    def _invoice(self, cust: CustomerInfo, wo: dict, job) -> None:
        rng, now = self.rng, self.now
        inv_id = self.ids.next("invoice")
        issued = wo["completed_at"]
        status = "draft"
        if issued is not None:
            since = (now - issued).days
            status = weighted(rng, (("paid", 97), ("open", 3)) if since > 45 else
                              (("draft", 5), ("awaiting_authorization", 30 if cust.requires_auth else 0),
                               ("open", 45), ("paid", 50)))
            status = "void" if rng.random() < 0.02 else status
        lines, subtotal = [], 0
        for text, qh, rate, parts in job:
            lines.append(("labour", None, text, Decimal(qh) / 4, rate))
            subtotal += qh * rate // 4
            for pn, ptext, qty, cents in parts:
                lines.append(("part", pn, ptext, Decimal(qty), cents))
                subtotal += qty * cents
        for pos, (kind, pn, text, qty, cents) in enumerate(lines):
            self.rows["invoice_line"].append({
                "id": self.ids.next("invoice_line"), "invoice_id": inv_id, "position": pos, "kind": kind,
                "part_number": pn, "description": text, "quantity": qty, "unit_price": money(cents),
            })
        total = subtotal + tax_of(subtotal)
        paid_at, paid = self._payments(inv_id, status, issued, total)
        if status == "paid" and paid < total:
            status = "open"  # the payment would lie in the future
        self.rows["invoice"].append({
            "id": inv_id, "number": self.number("INV"), "customer_id": cust.id, "work_order_id": wo["id"],
            "status": status, "tax_rate": Decimal(TAX_RATE), "subtotal": money(subtotal),
            "tax": money(tax_of(subtotal)), "total": money(total), "amount_paid": money(paid),
            "issued_at": issued if status != "draft" else None,
            "due_date": (issued + dt.timedelta(days=14)).date() if issued and status != "draft" else None,
            "authorized_at": None, "authorized_by_id": None, "paid_at": paid_at if status == "paid" else None,
            "void_reason": "Issued in error" if status == "void" else None, "note": None, "version": 1,
            "created_at": issued or wo["ready_at"] or now, "updated_at": paid_at or issued or now,
        })

    def _payments(self, inv_id: int, status: str, issued, total: int):
        """Payments for a paid (in one or two parts) or partly paid open invoice: (last date, cents paid)."""
        rng = self.rng
        if status not in ("paid", "open") or total <= 0 or (status == "open" and rng.random() > 0.2):
            return None, 0
        if status == "paid":
            first = total * rng.randint(30, 60) // 100 if rng.random() < 0.15 else total
            amounts = [first, total - first] if first < total else [total]
        else:
            amounts = [total * rng.randint(20, 60) // 100]
        paid, when = 0, issued
        for amount in amounts:
            when = when + dt.timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23))
            if when > self.now or amount <= 0:
                break
            paid += amount
            self.rows["payment"].append({
                "id": self.ids.next("payment"), "invoice_id": inv_id, "amount": money(amount),
                "method": rng.choice(c.PAYMENT_METHODS), "reference": f"TX{rng.randrange(10**8):08d}",
                "provider": None, "received_at": when, "recorded_by_id": None,
            })
        return (when if paid else None), paid

    def _shipments(self) -> None:
        """Resellers send their confirmed orders in shipments of one to six orders."""
        rng = self.rng
        groups: dict[tuple, list[dict]] = {}
        for wo in self.shippable:
            groups.setdefault((wo["customer_id"], wo["received_at"] is None), []).append(wo)
        for (customer_id, waiting), orders in groups.items():
            while orders:
                size = rng.randint(1, 6)
                batch, orders = orders[:size], orders[size:]
                ship_id = self.ids.next("shipment")
                tracking = f"00340{rng.randrange(10**13):013d}"
                created = batch[0]["created_at"]
                status = ("draft" if rng.random() < 0.3 else "confirmed") if waiting else "received"
                self.rows["shipment"].append({
                    "id": ship_id, "number": self.number("SHP"), "customer_id": customer_id,
                    "service_location_id": batch[0]["service_location_id"],
                    "shipping_method_id": batch[0]["shipping_method_id"],
                    "status": status,
                    "tracking_number": tracking,
                    "confirmed_at": None if status == "draft" else created + dt.timedelta(hours=2),
                    "received_at": None if waiting else min(wo["received_at"] for wo in batch), "version": 2,
                    "created_at": created, "updated_at": created,
                })
                for wo in batch:
                    wo["shipment_id"], wo["tracking_number"] = ship_id, tracking

    def _audit(self, entity: str, row: dict, action: str, source, target: str, when, reason=None) -> None:
        self.rows["audit_event"].append({
            "id": self.ids.next("audit_event"), "entity_type": entity, "entity_id": row["id"],
            "entity_number": row["number"], "action": action, "from_status": source, "to_status": target,
            "reason": reason, "actor_id": None, "actor_label": "bench", "customer_id": row["customer_id"],
            "created_at": when,
        })
