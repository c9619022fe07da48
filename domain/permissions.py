"""Who may run each registry operation: one table, read by the aggregate and the entry points.

Why one table: the HTTP layer refuses a caller by role before a command runs, and the
aggregate refuses again with the registration in hand (is this engineer its owner, is this
employer the one named in the application?). Both read `PERMISSIONS`, so they cannot drift.
A rule is data: the roles that may always run the operation, plus whether the registration's
own engineer (`owner`) or the employer named in it (`employer`) may run it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from domain.actors import Actor, Role
from domain.errors import NotPermitted

E, EM, RV, RG, AU, AD, SYS = (
    Role.ENGINEER,
    Role.EMPLOYER,
    Role.REVIEWER,
    Role.REGISTRAR,
    Role.AUDITOR,
    Role.ADMIN,
    Role.SYSTEM,
)


@dataclass(frozen=True)
class Permission:
    """The rule for one operation; `action` is the phrase a refusal uses."""

    action: str
    roles: frozenset[Role] = frozenset()
    owner: bool = False
    """The engineer who drafted the registration may run it too."""
    employer: bool = False
    """The employer named in the application may run it too (and no other employer)."""

    @property
    def callers(self) -> frozenset[Role]:
        """Roles that can pass the role gate at all (before the registration is known).

        `SYSTEM` is left out: no user holds it, the registry's own rules run under it.
        """
        roles = set(self.roles)
        if self.owner:
            roles.add(E)
        if self.employer:
            roles.add(EM)
        return frozenset(roles - {SYS})

    def allows(
        self, actor: Actor, *, owner_id: str | None = None, employer_id: str | None = None
    ) -> bool:
        if actor.role in self.roles:
            return True
        if self.owner and actor.role is E and owner_id is not None and actor.id == owner_id:
            return True
        return (
            self.employer
            and actor.role is EM
            and employer_id is not None
            and actor.id == employer_id
        )

    def check(
        self, actor: Actor, *, owner_id: str | None = None, employer_id: str | None = None
    ) -> None:
        """Raise `NotPermitted` (actor.not_permitted) unless `actor` may run the operation."""
        if self.allows(actor, owner_id=owner_id, employer_id=employer_id):
            return
        if self.owner:
            raise NotPermitted(
                f"{actor.role.value} {actor.id!r} may not {self.action} this registration"
            )
        if self.employer and not self.roles:
            raise NotPermitted(f"only the applicant's employer may {self.action}")
        raise NotPermitted(f"role {actor.role.value} may not {self.action}")


def _p(action: str, *roles: Role, owner: bool = False, employer: bool = False) -> Permission:
    return Permission(action, frozenset(roles), owner=owner, employer=employer)


PERMISSIONS: MappingProxyType[str, Permission] = MappingProxyType(
    {
        # the applicant's own commands (the registrar may act on their behalf)
        "apply": _p("apply", E, RG),
        "attach_evidence": _p("attach evidence", RG, owner=True),
        "submit": _p("submit", RG, owner=True),
        "supplement": _p("supplement", RG, owner=True),
        "withdraw": _p("withdraw", RG, owner=True),
        "record_ce": _p("record CE hours", RG, owner=True),
        "amend": _p("amend", RG, owner=True),
        # employer preliminary review (单位初审): only the employer named in the application
        "endorse": _p("endorse", employer=True),
        "decline": _p("decline", employer=True),
        # an approved engineer's move to another employer (SPEC §12): the engineer asks,
        # the employer they claim (passed as `employer_id`) endorses or declines, the
        # registrar approves (or declines)
        "request_employer_change": _p("request an employer change", RG, owner=True),
        "employer_change_endorse": _p("endorse an employer change", employer=True),
        "employer_change_decline": _p("decline an employer change", RG, employer=True),
        "employer_change_approve": _p("approve an employer change", RV, RG),
        "employer_claims": _p("list the engineers who claim an employer", EM, RG, AU, AD),
        # expert review
        "start_review": _p("start a review", RV, RG),
        "score": _p("score", RV, RG),
        "return": _p("return for supplement", RV, RG),
        "further_verification": _p("request further verification", RV, RG),
        "approve": _p("approve", RV, RG),
        "reject": _p("reject", RV, RG),
        # supervision (人社备案)
        "assessment": _p("record an annual assessment", RG),
        "apply_scheme_rules": _p("apply scheme rules", RG, SYS),
        "suspend": _p("suspend", RG),
        "reinstate": _p("reinstate", RG),
        "revoke": _p("revoke", RG),
        "dishonesty_add": _p("add to the dishonesty list", RG),
        "dishonesty_lift": _p("lift a dishonesty listing", RG),
        "issue_certificate": _p("issue a certificate", RG, SYS),
        "erase": _p("erase personal data", RG, AD),
        # reads: engineers see their own registrations, employers their employees'
        "read_registration": _p(
            "read this registration", RV, RG, AU, AD, owner=True, employer=True
        ),
        "certificate_download": _p("download the certificate", RG, AD, owner=True),
        "events": _p("read the event history", RG, AU, AD),
        "queue": _p("read the review queue", RV, RG, AU, AD),
        "search": _p("search the registry", RV, RG, AU, AD, employer=True),
        "statistics": _p("read the statistics", RV, RG, AU, AD),
        "dishonesty_list": _p("read the dishonesty list", EM, RV, RG, AU, AD),
        "whoami": _p("see who they are", E, EM, RV, RG, AU, AD),
        "audit": _p("audit", AU),
    }
)
"""operation → who may run it. Entry points gate on `callers`; the aggregate calls `check`."""

SCHEDULED = frozenset({"apply_scheme_rules"})
"""Operations the registry runs on its own timetable, not on a user's request."""
AUDIT = frozenset({"audit"})
"""Operations on the audit log rather than on registrations."""


def permission(operation: str) -> Permission:
    """The rule for `operation`; an unknown name is a programming error (KeyError)."""
    return PERMISSIONS[operation]


def check(
    operation: str,
    actor: Actor,
    *,
    owner_id: str | None = None,
    employer_id: str | None = None,
) -> None:
    """Refuse `actor` unless the table lets them run `operation` (on this registration)."""
    PERMISSIONS[operation].check(actor, owner_id=owner_id, employer_id=employer_id)
