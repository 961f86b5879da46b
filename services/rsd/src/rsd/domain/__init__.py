"""Refugee status determination domain: plain Python, no I/O."""

from .appeal import Appeal, AppealAgainst, AppealOutcome
from .application import (Application, ArrivalManner, Assignment, CertificateRequest, Closure, ProcessingMode,
                          Reopening, ReopeningGround)
from .assessment import Assessment, CredibilityConcern, CredibilityFinding, ExclusionClause, Ground
from .deadlines import Deadline, DeadlineKind, DeadlineStatus, deadline_status, deadlines, due_soon
from .decision import Decision, Extension, MemberOutcome, Outcome, Recommendation, RejectionReason, appeal_deadline
from .ending import (CancellationGround, CessationGround, EndingKind, EndingProceeding, RevocationGround)
from .events import (AppealDecided, AppealLodged, ApplicationClosed, ApplicationLodged, ApplicationRegistered,
                     ApplicationReopened, AssessmentRecorded, CertificateRequested, ContactRecorded, DeadlineMissed,
                     DecisionIssued, DecisionNotified, DecisionPeriodExtended, FingerprintingRecorded,
                     InterviewHeld, InterviewMissed, InterviewRescheduled, InterviewScheduled, MemberAdded, OfficerReassigned,
                     ProcessingModeSet, RecommendationMade, StatusEnded, StatusEndingDecided,
                     StatusEndingNoticeGiven, StatusEndingResponseRecorded, StatusRestored, event_to_document)
from .interview import Interpreter, Interview, InterviewStatus, Rescheduling
from .members import PRIORITY_NEEDS, Contact, ContactKind, Member, Relationship, Sex, SpecificNeed
from .rules import RsdRules
from .state import ApplicationState, ClosureReason
from .statistics import (ApplicationKind, DecisionClass, application_kind, classify_decision,
                         classify_decision_event)

import types as _types

__all__ = [n for n, v in dict(globals()).items() if not n.startswith("_") and not isinstance(v, _types.ModuleType)]
