"""The application's public API: what entry points (CLI, HTTP), the demo and bench use.

Commands and `RegistryApp.handle` for every write; use cases of more than one step
(certificates, bulk check, erasure as the `ErasePersonalData` handler); the errors, settings,
clock and ports. Adapters are built by `registry.bootstrap`, never imported by entry points.
"""

from __future__ import annotations

from registry.application import bulk_check
from registry.application.certificates import (
    CredentialArchive,
    IssuedCertificate,
    SigningKeys,
    certificate_serial,
    credential_expiry,
    issue_certificate,
    printable_certificate,
)
from registry.application.clock import Clock, SimulatedClock, SystemClock
from registry.application.commands import (
    Amend,
    Apply,
    Approve,
    AttachEvidence,
    Command,
    CommandOptions,
    CommandResult,
    Decline,
    Endorse,
    ErasePersonalData,
    LiftDishonesty,
    ListAsDishonest,
    ProvideSupplement,
    RecordAnnualAssessment,
    RecordCe,
    RecordCertificate,
    RecordExpertScore,
    RegistrationCommand,
    Reinstate,
    Reject,
    RequestFurtherVerification,
    ReturnForSupplement,
    Revoke,
    SingleCommand,
    StartReview,
    Submit,
    Suspend,
    Withdraw,
)
from registry.application.erasure import erasure_result
from registry.application.errors import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    NotFound,
    PersonalDataErased,
    SecretUnavailable,
    StoreIntegrityError,
)
from registry.application.handlers import HANDLERS
from registry.application.ports import Database, EvidenceFiles, PersonalDataVault
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.application.users import (
    ASSIGNABLE_ROLES,
    ApiUser,
    DuplicateUser,
    UnknownUser,
    Users,
)

__all__ = [
    "ASSIGNABLE_ROLES",
    "HANDLERS",
    "Amend",
    "ApiUser",
    "Apply",
    "Approve",
    "AttachEvidence",
    "Clock",
    "Command",
    "CommandOptions",
    "CommandResult",
    "ConcurrencyConflict",
    "CredentialArchive",
    "Database",
    "Decline",
    "DuplicateUser",
    "Endorse",
    "ErasePersonalData",
    "EvidenceFiles",
    "IdempotencyKeyReused",
    "IssuedCertificate",
    "LiftDishonesty",
    "ListAsDishonest",
    "NotFound",
    "PersonalDataErased",
    "PersonalDataVault",
    "ProvideSupplement",
    "RecordAnnualAssessment",
    "RecordCe",
    "RecordCertificate",
    "RecordExpertScore",
    "RegistrationCommand",
    "RegistryApp",
    "Reinstate",
    "Reject",
    "RequestFurtherVerification",
    "ReturnForSupplement",
    "Revoke",
    "SecretUnavailable",
    "Settings",
    "SigningKeys",
    "SimulatedClock",
    "SingleCommand",
    "StartReview",
    "StoreIntegrityError",
    "Submit",
    "Suspend",
    "SystemClock",
    "UnknownUser",
    "Users",
    "Withdraw",
    "bulk_check",
    "certificate_serial",
    "credential_expiry",
    "erasure_result",
    "issue_certificate",
    "printable_certificate",
]
