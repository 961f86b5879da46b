from datetime import date, datetime, timezone

import pytest

from registration.domain import MatchingConfig, MatchRecord, Person, blocking_keys, find_candidates, score_pair

NOW = datetime(2025, 3, 1, tzinfo=timezone.utc)


def rec(pid, given, family, birth=date(1990, 5, 4), patronymic="", sex="male", precision="exact", country="AFG"):
    return MatchRecord(pid, given, family, patronymic, birth, precision, sex, country, (country,))


def test_cross_script_and_spelling_is_likely_duplicate():
    a = MatchRecord.of(Person.register(person_id="a", registered_by="o", now=NOW, given_name="Мухаммад",
                                       family_name="Нұрлыбеков", birth_date=date(1990, 5, 4), sex="male",
                                       country_of_origin="AFG", citizenships=["AFG"]))
    for given, family in [("Mohammad", "Nurlybekov"), ("Muhammad", "Nūrlybekov"), ("MUKHAMMAD", "NURLYBEKOV")]:
        result = score_pair(a, rec("b", given, family))
        assert result.verdict == "likely_duplicate", (given, result)
        assert any(r.startswith("given_name_equal") for r in result.reasons)


def test_day_month_swap_and_year_only():
    a = rec("a", "Ахмад", "Карими", date(1990, 5, 4))
    swapped = score_pair(a, rec("b", "Ahmad", "Karimi", date(1990, 4, 5)))
    assert swapped.verdict == "likely_duplicate" and "birth_date_day_month_swapped" in swapped.reasons
    year_only = score_pair(a, rec("c", "Ahmed", "Karimi", date(1990, 1, 1), precision="year"))
    assert year_only.verdict == "likely_duplicate" and "birth_year_equal" in year_only.reasons


def test_son_named_after_father_is_not_a_duplicate():
    father = rec("f", "Мухаммад", "Нурлыбеков", date(1962, 3, 1), patronymic="Алиевич")
    son = rec("s", "Mukhammad", "Nurlybekov", date(1990, 3, 1), patronymic="Mukhammadovich")
    result = score_pair(son, father)
    assert result.verdict == "distinct" and "father_son_patronymic" in result.reasons
    # no patronymic, but a generation apart
    result = score_pair(rec("x", "Yusuf", "Ali", date(1960, 1, 1)), rec("y", "Yusuf", "Ali", date(1988, 1, 1)))
    assert result.verdict == "distinct" and "different_generation" in result.reasons


def test_different_people_are_distinct():
    assert score_pair(rec("a", "Айгерим", "Сапарова", sex="female"), rec("b", "Ahmad", "Karimi")).verdict == "distinct"
    assert score_pair(rec("a", "Muhammad", "Karimi"), rec("b", "Muhammad", "Karimi", sex="female")).verdict != "likely_duplicate"


def test_unvoweled_arabic_matches_latin():
    result = score_pair(rec("a", "محمد", "كريمي"), rec("b", "Mohammed", "Karimi"))
    assert result.score >= 0.7


def test_config_from_dict_changes_the_outcome():
    # Before #16 this config (family name only) made two people sharing a family name a likely duplicate: a
    # score averaged over the fields present. A field is now evidence by its weight, and one shared family name
    # is not enough; what the config still changes is which fields count, the thresholds and the blocking keys.
    config = MatchingConfig.from_dict({
        "fields": [{"field": "given_name", "weight": 1.0, "comparator": "name"}, "family_name", "sex",
                   "country_of_origin", "citizenships"],
        "likely_threshold": 0.9, "possible_threshold": 0.8, "blocking_keys": ["family_phonetic"],
    })
    assert MatchingConfig.from_dict(config.to_dict()) == config
    a, b = rec("a", "Ahmad", "Karimi", date(1990, 5, 4)), rec("b", "Ahmad", "Karimi", date(1951, 1, 9))
    assert score_pair(a, b).verdict == "distinct"  # default: the birth dates disagree, two generations
    assert score_pair(a, b, config).verdict == "likely_duplicate"  # this config ignores birth dates
    assert not score_pair(rec("a", "Ahmad", "Karimi"), rec("b", "Yusuf", "Karimi"), config).verdict == "likely_duplicate"
    with pytest.raises(ValueError):
        MatchingConfig.from_dict({"blocking_keys": ["favourite_colour"]})


def test_blocking_and_candidates():
    a = rec("a", "Мухаммад", "Нұрлыбеков")
    others = [rec("b", "Mohammed", "Nurlybekov", date(1990, 4, 5)), rec("c", "Aigerim", "Saparova", date(1971, 2, 3)),
              rec("d", "Muhammad", "Nurlybekov", date(1990, 5, 4))]
    assert blocking_keys(a) & blocking_keys(others[0])
    assert not blocking_keys(a) & blocking_keys(others[1])
    found = find_candidates(a, others)
    assert [c.person_id for c in found] == ["d", "b"]
    assert set(found[0].to_document()) == {"person_id", "score", "reasons"}
