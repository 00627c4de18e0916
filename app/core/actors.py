"""Who is acting: a staff user, a technician, a customer's portal user, the system, or the public."""
from __future__ import annotations

from dataclasses import dataclass, field

STAFF_ROLES = frozenset({"Admin", "Manager", "Advisor"})
MANAGER_ROLES = frozenset({"Admin", "Manager"})  # the "manager" side: staff who may also erase customers
TECHNICIAN_ROLES = frozenset({"Technician"})
CUSTOMER_ROLES = frozenset({"Customer", "Reseller"})


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str
    roles: frozenset[str] = field(default_factory=frozenset)
    customer_id: int | None = None
    is_reseller: bool = False
    system: bool = False

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    @property
    def is_technician(self) -> bool:
        return bool(self.roles & TECHNICIAN_ROLES) and not self.is_staff

    @property
    def is_customer(self) -> bool:
        return self.customer_id is not None and not self.is_staff and not self.system

    @property
    def side(self) -> str:
        if self.system:
            return "system"
        if self.is_staff:
            return "staff"
        if self.is_technician:
            return "technician"
        if self.is_customer:
            return "customer"
        return "anyone"

    def may(self, by: tuple[str, ...]) -> bool:
        """Does this actor fit one of a transition's ``by`` values?"""
        if "anyone" in by:
            return True
        if self.system and "system" in by:
            return True
        if self.is_staff and "staff" in by:
            return True
        if "manager" in by and self.roles & MANAGER_ROLES:
            return True
        if self.is_technician and "technician" in by:
            return True
        if self.is_customer and "customer" in by:
            return True
        return self.is_customer and self.is_reseller and "reseller" in by

    @classmethod
    def system_actor(cls, label: str = "system") -> Actor:
        return cls(user_id=None, label=label, system=True)

    def on_behalf_of_system(self, why: str) -> Actor:
        """The system acting because of this actor (audited as "jane (estimate EST-1 approved)")."""
        return Actor(user_id=self.user_id, label=f"{self.label} ({why})", system=True)

    @classmethod
    def public(cls, customer_id: int | None = None, label: str = "public form") -> Actor:
        return cls(user_id=None, label=label, customer_id=customer_id)

    @classmethod
    def for_user(cls, user, customer=None) -> Actor:
        """Build an actor from a FAB user; ``customer`` is their linked account, if any."""
        roles = frozenset(role.name for role in (user.roles or []))
        return cls(
            user_id=user.id,
            label=user.username,
            roles=roles,
            customer_id=customer.id if customer is not None else None,
            is_reseller=bool(customer is not None and customer.kind == "reseller"),
        )
