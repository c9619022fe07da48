"""The closed vocabularies of reasons a reviewer or registrar may give, and what may change.

Kept apart from the aggregate so entry points can list them (CLI choices, HTTP docs) without
reaching into the aggregate's module.
"""

from __future__ import annotations

RETURN_REASONS = {
    "project.no_implementation": "project shows no implementation phase (项目未体现实施环节)",
    "skills.vague": "skill description is vague (技能描述模糊)",
    "evidence.missing": "evidence missing or unreadable",
    "evidence.mismatch": "evidence does not match the declaration",
    "employer.unconfirmed": "employment could not be confirmed",
    "education.unverified": "education could not be verified (学信网)",
    "other": "other (see note)",
}
SUSPENSION_REASONS = frozenset(
    {
        "ce.missing_consecutive_years",
        "assessment.failed",
        "investigation",
        "complaint",
        "non_practising",
        "other",
    }
)
REVOCATION_REASONS = frozenset({"fraud", "forged_material", "misconduct", "resigned", "other"})
DISHONEST_REVOCATIONS = frozenset({"fraud", "forged_material"})
"""Revocations that also put the engineer on the dishonesty list."""
REQUIRES_REREVIEW = frozenset({"employer", "projects"})
AMENDABLE = frozenset(
    {"employer", "projects", "education", "certificates", "achievements", "skills", "personal_data"}
)
SCORING_METHODS = frozenset({"defence", "material_review", "practical_test", "combined"})
