"""Households as UNHCR registration groups: one focal person, members and their relationships.

Continuous registration: births, deaths, marriages, arrivals, departures and splits each
record an event. Two focal persons and cycles of relationships (A parent of B parent of
A) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Iterable

from pana_kit.documents import from_document, to_jsonable
from pana_kit.domain import Aggregate, InvalidInput, NotFound, RuleViolation

from .events import (
    BirthRecorded, DeathRecorded, FocalPersonChanged, HouseholdFormed, HouseholdMemberAdded,
    HouseholdRelationshipRecorded, HouseholdSplit, MarriageRecorded, MemberArrived, MemberDeparted,
)


class Relationship(StrEnum):
    """A member's relationship to the focal person."""
    FOCAL = "focal"
    SPOUSE = "spouse"
    CHILD = "child"
    STEPCHILD = "stepchild"
    PARENT = "parent"
    SIBLING = "sibling"
    GRANDCHILD = "grandchild"
    GRANDPARENT = "grandparent"
    OTHER_RELATIVE = "other_relative"
    NON_RELATIVE = "non_relative"
    UNSPECIFIED = "unspecified"


class RelationKind(StrEnum):
    """A recorded relation between two members: `person` <kind> `related_person`."""
    PARENT_OF = "parent_of"
    GUARDIAN_OF = "guardian_of"
    SPOUSE_OF = "spouse_of"


class MemberState(StrEnum):
    PRESENT = "present"
    DECEASED = "deceased"
    DEPARTED = "departed"
    MOVED = "moved"  # left in a split


# Relationship to focal that implies an ancestor edge: (ancestor, descendant).
_DESCENT = {
    Relationship.CHILD: "focal->member", Relationship.STEPCHILD: "focal->member",
    Relationship.GRANDCHILD: "focal->member", Relationship.PARENT: "member->focal",
    Relationship.GRANDPARENT: "member->focal",
}


@dataclass
class Member:
    person_id: str
    relationship: Relationship
    joined_on: date
    state: MemberState = MemberState.PRESENT
    left_on: date | None = None


@dataclass(frozen=True)
class Relation:
    person_id: str
    kind: RelationKind
    related_person_id: str


@dataclass
class Household(Aggregate):
    household_id: str
    focal_person_id: str
    members: dict[str, Member] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    split_from: str | None = None

    # --- forming ---------------------------------------------------------------------

    @classmethod
    def form(cls, *, household_id: str, focal_person_id: str, formed_on: date,
             split_from: str | None = None) -> "Household":
        household = cls(household_id, focal_person_id, split_from=split_from)
        household.members[focal_person_id] = Member(focal_person_id, Relationship.FOCAL, formed_on)
        household.record(HouseholdFormed(household_id, focal_person_id, formed_on, split_from))
        return household

    @property
    def present_members(self) -> list[Member]:
        return [m for m in self.members.values() if m.state is MemberState.PRESENT]

    def add_member(self, person_id: str, relationship: Relationship | str, *, on: date) -> Member:
        member = self._add(person_id, relationship, on)
        self.record(HouseholdMemberAdded(self.household_id, person_id, member.relationship.value, on))
        return member

    def relate(self, person_id: str, kind: RelationKind | str, related_person_id: str) -> None:
        """Record a relation between two present members; refuses one that closes a cycle."""
        kind = RelationKind(kind)
        for pid in (person_id, related_person_id):
            self._present(pid)
        if person_id == related_person_id:
            raise RuleViolation("no_cycle_of_relationships", "a person cannot be related to themselves")
        relation = Relation(person_id, kind, related_person_id)
        if relation in self.relations:
            return
        self._check_acyclic(extra=[relation])
        self.relations.append(relation)
        self.record(HouseholdRelationshipRecorded(self.household_id, person_id, kind.value, related_person_id))

    # --- continuous registration ---------------------------------------------------------

    def record_birth(self, person_id: str, *, born_on: date, parent_person_ids: Iterable[str]) -> None:
        parents = tuple(parent_person_ids)
        if not parents:
            raise InvalidInput("a birth names at least one parent in the household", rule="birth_parent_required")
        for parent in parents:
            self._present(parent)
        if self.focal_person_id in parents:
            relationship = Relationship.CHILD
        elif any(self.members[p].relationship in (Relationship.CHILD, Relationship.STEPCHILD) for p in parents):
            relationship = Relationship.GRANDCHILD
        elif any(self.members[p].relationship is Relationship.SPOUSE for p in parents):
            relationship = Relationship.STEPCHILD
        else:
            relationship = Relationship.OTHER_RELATIVE
        self._add(person_id, relationship, born_on, extra=[Relation(p, RelationKind.PARENT_OF, person_id) for p in parents])
        self.relations.extend(Relation(p, RelationKind.PARENT_OF, person_id) for p in parents)
        self.record(BirthRecorded(self.household_id, person_id, parents, born_on))

    def record_death(self, person_id: str, *, died_on: date, new_focal_person_id: str | None = None,
                     relationships: dict[str, Relationship | str] | None = None) -> None:
        member = self._present(person_id)
        if person_id == self.focal_person_id:
            self._hand_over_focal(new_focal_person_id, relationships, died_on, leaving=person_id)
        member.state, member.left_on = MemberState.DECEASED, died_on
        self.record(DeathRecorded(self.household_id, person_id, died_on))

    def record_marriage(self, person_id: str, spouse_person_id: str, *, married_on: date) -> None:
        """Marriage of a member; a spouse from outside joins the household."""
        self._present(person_id)
        if spouse_person_id not in self.members or self.members[spouse_person_id].state is not MemberState.PRESENT:
            relationship = Relationship.SPOUSE if person_id == self.focal_person_id else Relationship.OTHER_RELATIVE
            self._add(spouse_person_id, relationship, married_on)
        elif person_id == self.focal_person_id:
            self.members[spouse_person_id].relationship = Relationship.SPOUSE
        self.relate(person_id, RelationKind.SPOUSE_OF, spouse_person_id)
        self.record(MarriageRecorded(self.household_id, person_id, spouse_person_id, married_on))

    def record_arrival(self, person_id: str, relationship: Relationship | str, *, arrived_on: date) -> None:
        member = self._add(person_id, relationship, arrived_on)
        self.record(MemberArrived(self.household_id, person_id, member.relationship.value, arrived_on))

    def record_departure(self, person_id: str, *, departed_on: date, reason: str,
                         new_focal_person_id: str | None = None,
                         relationships: dict[str, Relationship | str] | None = None) -> None:
        member = self._present(person_id)
        if person_id == self.focal_person_id:
            self._hand_over_focal(new_focal_person_id, relationships, departed_on, leaving=person_id)
        member.state, member.left_on = MemberState.DEPARTED, departed_on
        self.record(MemberDeparted(self.household_id, person_id, departed_on, reason))

    def change_focal_person(self, new_focal_person_id: str, *, on: date,
                            relationships: dict[str, Relationship | str] | None = None) -> None:
        self._hand_over_focal(new_focal_person_id, relationships, on, leaving=None)

    def split(self, person_ids: Iterable[str], *, new_household_id: str, new_focal_person_id: str,
              split_on: date, relationships: dict[str, Relationship | str] | None = None) -> "Household":
        """Move members into a new registration group with its own focal person."""
        moving = tuple(dict.fromkeys(person_ids))
        if not moving:
            raise InvalidInput("a split moves at least one member", rule="split_members_required")
        for pid in moving:
            self._present(pid)
        if self.focal_person_id in moving:
            raise RuleViolation("one_focal_person", "the focal person stays; change the focal person first")
        if new_focal_person_id not in moving:
            raise RuleViolation("one_focal_person", "the new group's focal person must be one of those moving")
        relationships = {k: Relationship(v) for k, v in (relationships or {}).items()}
        new = Household.form(household_id=new_household_id, focal_person_id=new_focal_person_id,
                             formed_on=split_on, split_from=self.household_id)
        for pid in moving:
            if pid != new_focal_person_id:
                new.add_member(pid, relationships.get(pid, Relationship.UNSPECIFIED), on=split_on)
        moved = set(moving)
        new.relations = [r for r in self.relations if r.person_id in moved and r.related_person_id in moved]
        for pid in moving:
            self.members[pid].state, self.members[pid].left_on = MemberState.MOVED, split_on
        self.record(HouseholdSplit(self.household_id, new_household_id, new_focal_person_id, moving, split_on))
        return new

    # --- internals -------------------------------------------------------------------------

    def _add(self, person_id: str, relationship: Relationship | str, on: date,
             extra: list[Relation] | None = None) -> Member:
        try:
            relationship = Relationship(relationship)
        except ValueError:
            raise InvalidInput(f"{relationship!r} is not a relationship", rule="relationship_value") from None
        if relationship is Relationship.FOCAL:
            raise RuleViolation("one_focal_person",
                                f"{self.household_id} already has focal person {self.focal_person_id}")
        existing = self.members.get(person_id)
        if existing and existing.state is MemberState.PRESENT:
            raise RuleViolation("member_once_per_household", f"{person_id} is already a member")
        member = Member(person_id, relationship, on)
        self.members[person_id] = member
        try:
            self._check_acyclic(extra=extra or [])
        except RuleViolation:
            if existing:
                self.members[person_id] = existing
            else:
                del self.members[person_id]
            raise
        return member

    def _present(self, person_id: str) -> Member:
        member = self.members.get(person_id)
        if member is None or member.state is not MemberState.PRESENT:
            raise NotFound(f"{person_id} is not a present member of {self.household_id}")
        return member

    def _hand_over_focal(self, new_focal: str | None, relationships: dict[str, Any] | None, on: date,
                         leaving: str | None) -> None:
        others = [m for m in self.present_members if m.person_id != (leaving or self.focal_person_id)]
        if new_focal is None:
            if leaving and not others:
                return  # the last member leaves; the group stays focal-less and empty
            raise RuleViolation("one_focal_person", "name the new focal person of the household")
        new_member = self._present(new_focal)
        if new_focal == self.focal_person_id:
            raise RuleViolation("one_focal_person", f"{new_focal} is already the focal person")
        relationships = {k: Relationship(v) for k, v in (relationships or {}).items()}
        if Relationship.FOCAL in relationships.values():
            raise RuleViolation("one_focal_person", "only the new focal person is focal")
        saved = {pid: m.relationship for pid, m in self.members.items()}
        previous = self.focal_person_id
        for member in self.present_members:
            if member.person_id in relationships:
                member.relationship = relationships[member.person_id]
            elif member.person_id not in (new_focal,):
                member.relationship = Relationship.UNSPECIFIED
        new_member.relationship = Relationship.FOCAL
        self.focal_person_id = new_focal
        try:
            self._check_acyclic()
        except RuleViolation:
            for pid, rel in saved.items():
                self.members[pid].relationship = rel
            self.focal_person_id = previous
            raise
        self.record(FocalPersonChanged(self.household_id, previous, new_focal, on))

    def _ancestry_edges(self, extra: list[Relation]) -> set[tuple[str, str]]:
        edges: set[tuple[str, str]] = set()
        focal = self.focal_person_id
        for member in self.present_members:
            direction = _DESCENT.get(member.relationship)
            if direction == "focal->member":
                edges.add((focal, member.person_id))
            elif direction == "member->focal":
                edges.add((member.person_id, focal))
        for r in [*self.relations, *extra]:
            if r.kind in (RelationKind.PARENT_OF, RelationKind.GUARDIAN_OF):
                edges.add((r.person_id, r.related_person_id))
        return edges

    def _check_acyclic(self, extra: list[Relation] | None = None) -> None:
        graph: dict[str, set[str]] = {}
        for a, b in self._ancestry_edges(extra or []):
            graph.setdefault(a, set()).add(b)
        visiting, done = set(), set()

        def visit(node: str) -> None:
            visiting.add(node)
            for nxt in graph.get(node, ()):
                if nxt in visiting:
                    raise RuleViolation("no_cycle_of_relationships",
                                        f"{nxt} would be their own ancestor through {node}")
                if nxt not in done:
                    visit(nxt)
            visiting.discard(node)
            done.add(node)

        for node in list(graph):
            if node not in done:
                visit(node)

    # --- document round trip --------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        # Members are stored as a list, in the order they joined, not keyed by person.
        return to_jsonable(self) | {"members": to_jsonable(list(self.members.values()))}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "Household":
        return from_document(cls, doc | {"members": {m["person_id"]: m for m in doc["members"]}})


def check_household(document: dict[str, Any], *, formed_on: date) -> Household:
    """Validate a household submitted whole (e.g. at registration): exactly one focal person,
    no cycle of relationships. Returns the rebuilt aggregate; raises before anything is stored."""
    members = document.get("members", [])
    focal = [m["person_id"] for m in members if m.get("relationship") == Relationship.FOCAL.value]
    if len(focal) != 1:
        raise RuleViolation("one_focal_person", f"a household has exactly one focal person, not {len(focal)}",
                            focal_person_ids=focal)
    if document.get("focal_person_id") not in (None, focal[0]):
        raise RuleViolation("one_focal_person", "focal_person_id differs from the member marked focal")
    ids = [m["person_id"] for m in members]
    if len(ids) != len(set(ids)):
        raise RuleViolation("member_once_per_household", "a person appears twice in the household")
    household = Household.from_document({**document, "focal_person_id": focal[0],
                                         "members": [{"state": "present", "joined_on": formed_on.isoformat(), **m}
                                                     for m in members]})
    household._check_acyclic()
    return household
