"""Registration domain: persons, households, border referrals, documents held and issued,
legal status projection, duplicate matching and statistics. Plain Python, no I/O."""

from .countries import CITIZENSHIP_CODES, ICAO_SPECIAL, ISO_ALPHA3
from .documents import (
    DOCUMENT_PREFIX, STATUS_BEHIND, BirthDatePrecision, Dependant, DocumentState, IdentityDocument,
    IdentityDocumentKind, IssuedDocument, IssuedDocumentKind, VerificationOutcome, VerificationResult,
    check_birth_before_issue, check_document_number, document_number, extend_asylum_seeker_certificate,
    issue_asylum_seeker_certificate, issue_refugee_certificate, issue_stateless_person_certificate,
    issue_statelessness_procedure_certificate, reissue_procedure_certificate,
    qr_payload, backed_by, certificate_expiry, effective_status, revoke_unbacked, unaccompanied_minor,
    ReplacementReason, renew_document, renewal_period_start, replace_document, stateless_certificate_due,
    verify_document, VerificationEntry, verify_entry,
    verify_qr_payload, sign_claims,
)
from .duplicates import (
    Candidates, DuplicateReview, MatchingConfig, MatchRecord, MatchResult, Normalised, birth_date_level,
    birth_date_similarity, blocking_keys, compare, comparison_vector, find_candidates, key_similarity, name_level,
    name_level_of, name_similarity, normalise, score_candidates, score_pair,
)
from .matching_model import FIELDS as MATCH_FIELDS, LEVELS as MATCH_LEVELS, MatchModel, default_model
from .events import (
    PersonRegistered, PersonUpdated, SpecificNeedsChanged, IdentityDocumentRecorded,
    BiometricsEnrolled, DuplicateOverridden, PersonsMerged, HouseholdFormed,
    HouseholdMemberAdded, HouseholdRelationshipRecorded, BirthRecorded, DeathRecorded,
    MarriageRecorded, MemberArrived, MemberDeparted, HouseholdSplit, FocalPersonChanged,
    BorderReferralReceived, ReferralRegistered, DocumentIssued, DocumentRevoked,
    LegalStatusChanged,
)
from .household import Household, Member, MemberState, Relation, RelationKind, Relationship, check_household
from .legal_status import (
    FactKind, LegalStatus, LegalStatusProjection, PRECEDENCE, StatusFact, StatusPeriod, combined_status,
    project_legal_status, status_changes,
)
from .mrz import MachineReadableZone, check_digit, parse_mrz
from .names import NameForm, blocking_key, fold, name_form, name_forms, match_key, patronymic_stem, script_of, skeleton, transliterate
from .person import Address, ChangeEntry, Contact, ContactKind, MaritalStatus, Person, Sex, SpecificNeed
from .referral import (
    BorderReferral, BorderStatement, GroupMember, GroupRelationship, ReferralMember, check_group, overdue_referrals,
)
from .rules import ALL_SERVICES, RegistrationRules, verification_delay
from .statistics import (
    PopulationMember, PopulationRecord, PopulationStatistics, StatisticsCell, count_changes, population_record,
    population_statistics, statistics_of_counts,
)

__all__ = [
    "ALL_SERVICES", "Address", "BiometricsEnrolled", "BirthDatePrecision", "BirthRecorded",
    "BorderReferral", "BorderReferralReceived", "BorderStatement", "CITIZENSHIP_CODES",
    "GroupMember", "GroupRelationship", "ReferralMember", "check_group",
    "ChangeEntry", "Contact", "ContactKind", "DOCUMENT_PREFIX", "DeathRecorded", "Dependant",
    "DocumentIssued", "DocumentRevoked", "DocumentState", "DuplicateReview", "DuplicateOverridden", "FactKind",
    "FocalPersonChanged", "Household", "HouseholdFormed", "HouseholdMemberAdded",
    "HouseholdRelationshipRecorded", "HouseholdSplit", "ICAO_SPECIAL", "ISO_ALPHA3",
    "IdentityDocument", "IdentityDocumentKind", "IdentityDocumentRecorded", "IssuedDocument",
    "IssuedDocumentKind", "LegalStatus", "LegalStatusChanged", "LegalStatusProjection",
    "MachineReadableZone", "MaritalStatus", "MarriageRecorded", "MatchRecord", "MatchResult",
    "MatchingConfig", "MatchModel", "MATCH_FIELDS", "MATCH_LEVELS", "Candidates", "Normalised", "NameForm",
    "birth_date_level", "compare", "comparison_vector", "default_model", "key_similarity", "name_level",
    "name_level_of", "name_form", "name_forms", "normalise", "score_candidates", "Member", "MemberArrived", "MemberDeparted", "MemberState", "Person",
    "PersonRegistered", "PersonUpdated", "PersonsMerged", "PopulationRecord",
    "PopulationStatistics", "ReferralRegistered", "RegistrationRules", "Relation",
    "RelationKind", "Relationship", "STATUS_BEHIND", "Sex", "SpecificNeed",
    "SpecificNeedsChanged", "StatisticsCell", "StatusFact", "StatusPeriod",
    "VerificationOutcome", "VerificationResult", "birth_date_similarity", "blocking_key",
    "blocking_keys", "check_birth_before_issue", "check_digit", "check_document_number",
    "check_household", "document_number", "extend_asylum_seeker_certificate", "find_candidates",
    "fold", "issue_asylum_seeker_certificate", "issue_refugee_certificate",
    "issue_stateless_person_certificate", "issue_statelessness_procedure_certificate",
    "reissue_procedure_certificate", "match_key", "name_similarity", "overdue_referrals",
    "parse_mrz", "patronymic_stem", "population_record", "population_statistics", "PopulationMember",
    "count_changes", "statistics_of_counts",
    "project_legal_status", "qr_payload", "revoke_unbacked", "backed_by", "certificate_expiry",
    "ReplacementReason", "renew_document", "renewal_period_start", "replace_document", "stateless_certificate_due",
    "effective_status", "PRECEDENCE", "combined_status", "unaccompanied_minor", "score_pair", "script_of",
    "skeleton", "status_changes", "transliterate", "verification_delay", "verify_document", "VerificationEntry", "verify_entry",
    "verify_qr_payload", "sign_claims",
]
from .access import NATIONAL_SCOPE, SENSITIVE_SEARCH_SCOPE, Reader
