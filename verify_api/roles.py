"""The role matrix: which roles may call each registry operation over HTTP.

Enforced by the HTTP layer before the command runs (403 `auth.role_not_allowed`); the domain
checks again on the aggregate (ownership, employer identity) and its refusal maps to 403
`actor.not_permitted`. Keeping the table as data lets tests and docs read the same source.
"""

from __future__ import annotations

from types import MappingProxyType

from domain.actors import Role

E, EM, RV, RG, AU, AD = (
    Role.ENGINEER,
    Role.EMPLOYER,
    Role.REVIEWER,
    Role.REGISTRAR,
    Role.AUDITOR,
    Role.ADMIN,
)

ROLE_MATRIX: MappingProxyType[str, frozenset[Role]] = MappingProxyType(
    {
        # the applicant's own commands (the registrar may act on their behalf)
        "apply": frozenset({E, RG}),
        "attach_evidence": frozenset({E, RG}),
        "submit": frozenset({E, RG}),
        "supplement": frozenset({E, RG}),
        "withdraw": frozenset({E, RG}),
        "record_ce": frozenset({E, RG}),
        "amend": frozenset({E, RG}),
        # employer preliminary review (单位初审)
        "endorse": frozenset({EM}),
        "decline": frozenset({EM}),
        # expert review
        "start_review": frozenset({RV, RG}),
        "score": frozenset({RV, RG}),
        "return": frozenset({RV, RG}),
        "further_verification": frozenset({RV, RG}),
        "approve": frozenset({RV, RG}),
        "reject": frozenset({RV, RG}),
        # supervision (人社备案)
        "assessment": frozenset({RG}),
        "suspend": frozenset({RG}),
        "reinstate": frozenset({RG}),
        "revoke": frozenset({RG}),
        "dishonesty_add": frozenset({RG}),
        "dishonesty_lift": frozenset({RG}),
        "issue_certificate": frozenset({RG}),
        "erase": frozenset({RG, AD}),
        # reads
        "read_registration": frozenset({E, EM, RV, RG, AU, AD}),
        "certificate_download": frozenset({E, RG, AD}),
        "events": frozenset({RG, AU, AD}),
        "queue": frozenset({RV, RG, AU, AD}),
        "search": frozenset({EM, RV, RG, AU, AD}),
        "statistics": frozenset({RV, RG, AU, AD}),
        "dishonesty_list": frozenset({EM, RV, RG, AU, AD}),
        "whoami": frozenset({E, EM, RV, RG, AU, AD}),
    }
)
"""operation → roles allowed to call it."""
