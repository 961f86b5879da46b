from datetime import date, datetime, timezone

from registration.domain import (
    Person, PopulationRecord, RegistrationRules, StatusFact, population_record, population_statistics,
    project_legal_status,
)

AS_OF = date(2025, 1, 1)


def test_cells_and_masking():
    records = [PopulationRecord("refugee", "female", date(1990, 1, 1), "AFG")] * 6 + \
              [PopulationRecord("refugee", "male", date(2022, 1, 1), "AFG")] * 2 + \
              [PopulationRecord("asylum_seeker", "male", None, None)] * 5
    stats = population_statistics(records, as_of=AS_OF, rules=RegistrationRules())
    rows = {(c.legal_status, c.sex, c.age_bracket, c.country_of_origin): c.count for c in stats.cells}
    assert rows[("refugee", "female", "18-59", "AFG")] == 6
    assert rows[("refugee", "male", "0-4", "AFG")] == "*"
    assert rows[("asylum_seeker", "male", "unknown", "unknown")] == 5
    assert stats.rows()[0].keys() == {"legal_status", "sex", "age_bracket", "country_of_origin", "count"}
    assert population_statistics(records, as_of=AS_OF, rules=RegistrationRules(statistics_small_cell_threshold=1)).cells[-1].count == 2


def test_population_record_as_of_date():
    person = Person.register(person_id="p", registered_by="o", now=datetime(2024, 1, 1, tzinfo=timezone.utc),
                             given_name="A", family_name="B", sex="female", birth_date=date(1980, 1, 1),
                             country_of_origin="SYR")
    status = project_legal_status("p", [StatusFact("asylum_application_registered", date(2024, 1, 1), "e1"),
                                        StatusFact("refugee_status_recognised", date(2024, 12, 1), "e2")])
    assert population_record(person, status, date(2024, 6, 1)).legal_status == "asylum_seeker"
    assert population_record(person, status, AS_OF).legal_status == "refugee"
    assert population_record(person, status, date(2023, 6, 1)) is None
