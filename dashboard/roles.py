"""Roles as data: what each kind of user may see and do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class RoleName(StrEnum):
    """The roles a user can have."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    OPERATOR = "operator"
    STAFF = "staff"
    FAMILY = "family"
    CITY = "city"  # the city platform (市级平台): every district's figures and reports, read-only


@dataclass(frozen=True, slots=True)
class Role:
    """One role: its reach over residents, what it may do, the page it lands on and the pages it may open."""

    name: RoleName
    all_residents: bool  # sees every resident; otherwise only linked residents (family) or own tasks (staff)
    handles_alerts: bool  # acknowledge, dispatch, cancel, resolve
    sees_figures: bool
    manages_users: bool
    home: str
    pages: frozenset[str]  # any other page sends this role to its home
    district_bound: bool = False  # a user of it with a district reaches only that district (else the city)


_DESK: Final = frozenset({"/console", "/figures", "/visits", "/report"})

ROLES: Final[dict[RoleName, Role]] = {
    r.name: r
    for r in (
        Role(RoleName.ADMIN, True, True, True, True, "/console", _DESK | {"/admin", "/roster"}),
        Role(RoleName.SUPERVISOR, True, True, True, False, "/figures", _DESK, district_bound=True),
        Role(RoleName.OPERATOR, True, True, False, False, "/console", frozenset({"/console"}), district_bound=True),
        Role(RoleName.STAFF, False, False, False, False, "/staff", frozenset({"/staff"})),
        Role(RoleName.FAMILY, False, False, False, False, "/family", frozenset({"/family"})),
        Role(RoleName.CITY, False, False, True, False, "/figures", frozenset({"/figures", "/report"})),
    )
}
