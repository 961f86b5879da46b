from datetime import date

import pytest
from pana_events.identifiers import iin_check_digit, make_iin
from pana_kit.domain import InvalidInput

from civil_registry_bridge.domain.iin import RULE_IIN_WELL_FORMED, check_iin_answer, require_iin


def test_valid_iin_answers_with_hints():
    iin = make_iin(date(1987, 4, 23), "male", 17)
    assert check_iin_answer(iin) == {
        "valid": True, "reason": None, "hints": {"birth_date": "1987-04-23", "sex": "male"},
    }


def test_female_2000s_hint():
    answer = check_iin_answer(make_iin(date(2024, 6, 12), "female", 1))
    assert answer["hints"] == {"birth_date": "2024-06-12", "sex": "female"}


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("", "exactly 12 digits"),
        ("12345678901", "exactly 12 digits"),
        ("1234567890123", "exactly 12 digits"),
        ("87042330017a", "only the digits"),
        ("８７０４２３３００１７５", "only the digits"),  # full-width digits are not ASCII
        (" 87042330017", "only the digits"),
    ],
)
def test_malformed_iins_are_invalid_with_a_reason(value, fragment):
    answer = check_iin_answer(value)
    assert answer["valid"] is False
    assert fragment in answer["reason"]
    assert answer["hints"] is None


def test_wrong_check_digit_is_invalid():
    iin = make_iin(date(1987, 4, 23), "male", 17)
    wrong = iin[:11] + str((int(iin[11]) + 1) % 10)
    answer = check_iin_answer(wrong)
    assert answer["valid"] is False and "check digit" in answer["reason"]


def test_eleven_digits_with_no_possible_check_digit_are_invalid():
    head = next(f"{n:011d}" for n in range(10**6, 10**7) if iin_check_digit(f"{n:011d}") is None)
    for last in "0123456789":
        answer = check_iin_answer(head + last)
        assert answer["valid"] is False
        assert "no check digit" in answer["reason"]


def test_non_string_is_invalid_not_an_error():
    assert check_iin_answer(870423300175)["valid"] is False
    assert check_iin_answer(None)["valid"] is False


def test_date_that_does_not_exist_is_only_a_missing_hint_never_a_rejection():
    # Resolution No. 853: an IIN need not match (or encode) a real birth date.
    head = "991331" + "3" + "0001"  # month 13
    check = iin_check_digit(head)
    if check is None:  # pick a serial that has a check digit
        head = "991331" + "3" + "0002"
        check = iin_check_digit(head)
    answer = check_iin_answer(head + str(check))
    assert answer["valid"] is True
    assert answer["hints"]["birth_date"] is None


def test_unknown_century_digit_is_valid_without_hints():
    for serial in range(100):
        head = f"900101" + "0" + f"{serial:04d}"
        check = iin_check_digit(head)
        if check is not None:
            break
    answer = check_iin_answer(head + str(check))
    assert answer == {"valid": True, "reason": None, "hints": {"birth_date": None, "sex": None}}


def test_require_iin_refuses_naming_the_rule_and_field():
    with pytest.raises(InvalidInput) as refused:
        require_iin("123", "mother.iin")
    assert refused.value.rule == RULE_IIN_WELL_FORMED
    assert refused.value.extra["errors"][0]["field"] == "mother.iin"
    iin = make_iin(date(1990, 1, 1), "female", 3)
    assert require_iin(iin, "mother.iin") == iin
