"""What changed between two revisions of an estimate, line by line and in the totals.

``diff(old, new)`` takes two estimates (or two ``snapshot()`` dicts, or ``None`` for "nothing before") and
answers an ``EstimateDiff``: the labour lines in the new order, each ``added``, ``removed``, ``changed`` or
``unchanged``, with its changed fields (old → new) and the same for the parts under it, plus the totals
before and after. The staff dispute review, the portal and the audit summary of ``estimates.set_lines``
all read it; ``to_dict()`` gives the same in JSON-friendly values.

Lines have no identity across revisions (a revision copies them, the builder replaces them), so they are
paired by what they say: the same description (parts: the same part number, then the same description),
in order; what is left is paired in order with an old line that has the same hours or rate (parts: part
number or price), so a reworded line shows as changed rather than as one line removed and another added.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

LABOUR_FIELDS = ("description", "hours", "rate", "amount")
PART_FIELDS = ("part_number", "description", "quantity", "unit_price", "amount")
TOTAL_FIELDS = ("subtotal", "tax", "total")
FIELD_LABELS = {"description": "description", "hours": "hours", "rate": "rate", "amount": "amount",
                "part_number": "part number", "quantity": "quantity", "unit_price": "unit price",
                "subtotal": "subtotal", "tax": "tax", "total": "total"}


# ---------------------------------------------------------------- plain values
def _part(part) -> dict:
    return {"id": part.id, "part_number": part.part_number or "", "description": part.description or "",
            "quantity": part.quantity, "unit_price": part.unit_price, "amount": part.amount,
            "disputed": bool(part.disputed), "dispute_note": part.dispute_note}


def _labour(line) -> dict:
    return {"id": line.id, "description": line.description or "", "hours": line.hours, "rate": line.rate,
            "amount": line.amount, "disputed": bool(line.disputed), "dispute_note": line.dispute_note,
            "parts": [_part(part) for part in line.parts]}


def snapshot(est) -> dict:
    """The estimate's lines and totals as plain values (what a later diff compares against)."""
    return {"label": est.display_number, "revision": est.revision,
            "labour_lines": [_labour(line) for line in est.labour_lines],
            "subtotal": est.subtotal, "tax": est.tax, "total": est.total}


EMPTY = {"label": "", "revision": 0, "labour_lines": [], "subtotal": None, "tax": None, "total": None}


# ---------------------------------------------------------------- the result
@dataclass
class Change:
    field: str
    old: object
    new: object

    @property
    def label(self) -> str:
        return FIELD_LABELS.get(self.field, self.field)

    @property
    def delta(self) -> Decimal | None:
        if isinstance(self.old, Decimal) and isinstance(self.new, Decimal):
            return self.new - self.old
        return None

    @property
    def changed(self) -> bool:
        return _norm(self.old) != _norm(self.new)


@dataclass
class LineDiff:
    kind: str  # "labour" or "part"
    status: str  # "added", "removed", "changed" or "unchanged"
    old: dict | None
    new: dict | None
    changes: list[Change] = field(default_factory=list)
    parts: list[LineDiff] = field(default_factory=list)

    @property
    def line(self) -> dict:
        """The values to show: the new line, or the old one if it was removed."""
        return self.new if self.new is not None else self.old

    @property
    def description(self) -> str:
        return self.line["description"]

    @property
    def was_disputed(self) -> bool:
        return bool(self.old and self.old.get("disputed"))

    @property
    def dispute_note(self) -> str | None:
        return self.old.get("dispute_note") if self.old else None


@dataclass
class EstimateDiff:
    old_label: str
    new_label: str
    lines: list[LineDiff]
    totals: list[Change]
    reordered: bool = False  # the same lines, in another order

    @property
    def all_lines(self) -> list[LineDiff]:
        """Labour and part entries, flattened, in display order."""
        return [entry for line in self.lines for entry in (line, *line.parts)]

    def count(self, status: str) -> int:
        return sum(1 for entry in self.all_lines if entry.status == status and
                   not (entry.kind == "labour" and status == "changed" and not entry.changes))

    @property
    def changed(self) -> bool:
        return (self.reordered or any(entry.status != "unchanged" for entry in self.all_lines)
                or any(t.changed for t in self.totals))

    def to_dict(self) -> dict:
        def line(entry: LineDiff) -> dict:
            result = {"kind": entry.kind, "status": entry.status, "old": _jsonable(entry.old),
                      "new": _jsonable(entry.new),
                      "changes": [{"field": c.field, "old": _jsonable(c.old), "new": _jsonable(c.new)}
                                  for c in entry.changes]}
            if entry.kind == "labour":
                result["parts"] = [line(part) for part in entry.parts]
            return result

        return {"old": self.old_label, "new": self.new_label, "changed": self.changed, "reordered": self.reordered,
                "lines": [line(entry) for entry in self.lines],
                "totals": {t.field: {"old": _jsonable(t.old), "new": _jsonable(t.new),
                                     "delta": _jsonable(t.delta)} for t in self.totals}}


# ---------------------------------------------------------------- comparing
def _norm(value):
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    if isinstance(value, str):
        return " ".join(value.split())
    return value


def _key(value) -> str:
    return " ".join(str(value or "").lower().split())


def _jsonable(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _pair(old: list[dict], new: list[dict], keys: list[Callable[[dict], str]],
          similar: Callable[[dict, dict], bool]) -> list[tuple[int | None, int | None]]:
    """Pairs of (old index, new index): by each key in turn; then what is left, in order, where ``similar``;
    the rest alone (added or removed)."""
    matched: dict[int, int] = {}  # new index -> old index
    old_left = list(range(len(old)))
    for key in keys:
        for n in range(len(new)):
            wanted = key(new[n])
            if n in matched or not wanted:
                continue
            found = next((o for o in old_left if key(old[o]) == wanted), None)
            if found is not None:
                matched[n] = found
                old_left.remove(found)
    for n in range(len(new)):
        if n not in matched:
            found = next((o for o in old_left if similar(old[o], new[n])), None)
            if found is not None:
                matched[n] = found
                old_left.remove(found)
    pairs: list[tuple[int | None, int | None]] = [(matched.get(n), n) for n in range(len(new))]
    for removed in old_left:  # before the first kept line that came after it
        at = next((i for i, (o, _n) in enumerate(pairs) if o is not None and o > removed), len(pairs))
        pairs.insert(at, (removed, None))
    return pairs


def _same_any(*fields: str) -> Callable[[dict, dict], bool]:
    """Two lines are alike (a reworded line, not a new one) when one of ``fields`` has the same value."""
    return lambda a, b: any(_norm(a.get(f)) == _norm(b.get(f)) and a.get(f) not in (None, "") for f in fields)


def _compare(kind: str, old: dict | None, new: dict | None, fields: tuple[str, ...]) -> LineDiff:
    if old is None:
        return LineDiff(kind, "added", None, new)
    if new is None:
        return LineDiff(kind, "removed", old, None)
    changes = [Change(name, old.get(name), new.get(name)) for name in fields]
    changes = [c for c in changes if c.changed]
    return LineDiff(kind, "changed" if changes else "unchanged", old, new, changes)


def _out_of_order(pairs) -> bool:
    kept = [o for o, n in pairs if o is not None and n is not None]
    return kept != sorted(kept)


def _parts(old: list[dict], new: list[dict]) -> tuple[list[LineDiff], bool]:
    pairs = _pair(old, new, [lambda p: _key(p.get("part_number")), lambda p: _key(p.get("description"))],
                  _same_any("part_number", "unit_price"))
    entries = [_compare("part", old[o] if o is not None else None, new[n] if n is not None else None, PART_FIELDS)
               for o, n in pairs]
    return entries, _out_of_order(pairs)


def diff(old, new) -> EstimateDiff:
    """What changed from ``old`` to ``new`` (estimates or snapshots; ``old`` may be ``None``)."""
    before = EMPTY if old is None else old if isinstance(old, dict) else snapshot(old)
    after = new if isinstance(new, dict) else snapshot(new)
    old_lines, new_lines = before["labour_lines"], after["labour_lines"]
    lines = []
    pairs = _pair(old_lines, new_lines, [lambda line: _key(line.get("description"))], _same_any("hours", "rate"))
    reordered = _out_of_order(pairs)
    for o, n in pairs:
        old_line = old_lines[o] if o is not None else None
        new_line = new_lines[n] if n is not None else None
        entry = _compare("labour", old_line, new_line, LABOUR_FIELDS)
        entry.parts, parts_moved = _parts(old_line["parts"] if old_line else [], new_line["parts"] if new_line else [])
        reordered = reordered or parts_moved
        if entry.status == "unchanged" and any(part.status != "unchanged" for part in entry.parts):
            entry.status = "changed"
        lines.append(entry)
    totals = [Change(name, before.get(name), after.get(name)) for name in TOTAL_FIELDS]
    return EstimateDiff(before.get("label", ""), after.get("label", ""), lines, totals, reordered)


def summary(result: EstimateDiff, limit: int = 3) -> str:
    """A short sentence for the audit trail: the first few line changes and the new total."""
    phrases = []
    for entry in result.all_lines:
        what = f"{'part' if entry.kind == 'part' else 'line'} \"{entry.description[:40]}\""
        if entry.status in ("added", "removed"):
            phrases.append(f"{entry.status} {what}")
        elif entry.changes:
            fields = ", ".join(f"{c.label} {_show(c.old)} → {_show(c.new)}" for c in entry.changes
                               if c.field != "amount")
            phrases.append(f"changed {what} ({fields})")
    if not phrases:
        phrases = ["lines reordered" if result.changed else "no change"]
    more = len(phrases) - limit
    text = "; ".join(phrases[:limit]) + (f"; and {more} more" if more > 0 else "")
    total = next(t for t in result.totals if t.field == "total")
    if total.changed:
        text += f"; total {_show(total.old)} → {_show(total.new)}"
    return text


def _show(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)[:40]
