"""registration's use cases: what routes and event handlers both call.

Each runs through the kit's one command template (`pana_kit.application`): load → If-Match →
domain step → versioned save → publish what the aggregates recorded (`publishing.py`) → audit.
Event handlers call the same use cases as system commands (`ANY_VERSION`).
"""

from .births import Birth, record_birth, register_foundling
from .common import SERVICE, audit, audit_returned, audited_read, reader
from .documents import (
    DocumentChange, issue_due_stateless_certificates, issue_stateless_certificate_if_due, renew, replace,
    printable_certificate, stateless_certificate_key,
)
from .duplicates import merge_persons, resolve_review
from .households import arrival, change_household, death, departure, form_household, marriage, split
from .persons import Registered, add_identity_document, person_fields, register_person, update_person
from .reads import NAME_SEARCH_POOL, name_score, name_words, population, population_recount, search_persons
from .referrals import refer, refer_group
from .status import (
    add_status_fact, extend_asylum_seeker_certificate, issue_document, record_civil_registration,
    registered_person, statelessness_procedure_certificate,
)

__all__ = [
    "DocumentChange", "issue_due_stateless_certificates", "issue_stateless_certificate_if_due", "renew", "replace",
    "printable_certificate", "stateless_certificate_key",
    "Birth", "NAME_SEARCH_POOL", "Registered", "SERVICE", "add_identity_document", "add_status_fact", "arrival",
    "audit", "audit_returned", "audited_read", "reader", "change_household", "death", "departure", "extend_asylum_seeker_certificate",
    "form_household", "issue_document", "marriage", "merge_persons", "name_score", "name_words", "person_fields",
    "population", "population_recount", "record_birth", "record_civil_registration", "refer", "refer_group", "register_foundling", "register_person",
    "registered_person", "resolve_review", "search_persons", "split", "update_person",
]
