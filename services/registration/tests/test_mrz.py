from datetime import date

import pytest
from pana_kit.domain import InvalidInput

from registration.domain import check_digit, parse_mrz

TODAY = date(2025, 1, 1)
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
TD1 = ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]
TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"]


def test_check_digit_examples():
    assert check_digit("L898902C3") == 6
    assert check_digit("740812") == 2
    assert check_digit("<<<<") == 0


def test_td3():
    mrz = parse_mrz("\n".join(TD3), today=TODAY)
    assert (mrz.format, mrz.surname, mrz.given_names, mrz.document_number) == ("TD3", "ERIKSSON", "ANNA MARIA", "L898902C3")
    assert mrz.birth_date == date(1974, 8, 12) and mrz.expiry_date == date(2012, 4, 15)
    assert mrz.sex == "F" and mrz.nationality == "UTO" and mrz.optional_data == "ZE184226B"


def test_td1_and_td2():
    for lines, fmt in ((TD1, "TD1"), (TD2, "TD2")):
        mrz = parse_mrz(lines, today=TODAY)
        assert mrz.format == fmt and mrz.document_number == "D23145890" and mrz.birth_date == date(1974, 8, 12)


@pytest.mark.parametrize("line,pos,field", [
    (1, 9, "document_number"), (1, 19, "birth_date"), (1, 27, "expiry_date"),
    (1, 42, "personal_number"), (1, 43, "composite"),
])
def test_td3_wrong_check_digit_names_the_field(line, pos, field):
    lines = list(TD3)
    wrong = str((int(lines[line][pos]) + 1) % 10)
    lines[line] = lines[line][:pos] + wrong + lines[line][pos + 1:]
    with pytest.raises(InvalidInput) as err:
        parse_mrz(lines, today=TODAY)
    assert err.value.rule == "mrz_check_digit" and err.value.extra["field"] == field


def test_td1_wrong_composite():
    lines = list(TD1)
    lines[1] = lines[1][:-1] + "7"
    with pytest.raises(InvalidInput) as err:
        parse_mrz(lines, today=TODAY)
    assert err.value.extra["field"] == "composite"


def test_tampered_data_fails_its_check_digit():
    lines = list(TD3)
    lines[1] = lines[1].replace("7408122", "7508122")
    with pytest.raises(InvalidInput) as err:
        parse_mrz(lines, today=TODAY)
    assert err.value.extra["field"] == "birth_date"


@pytest.mark.parametrize("bad", ["", "P<UTO", "p<uto" + "x" * 39 + "\n" + "é" * 44])
def test_malformed(bad):
    with pytest.raises(InvalidInput) as err:
        parse_mrz(bad, today=TODAY)
    assert err.value.rule == "mrz_format"


def _td3_line2(number: str, birth: str, expiry: str) -> str:
    line = f"{number}{check_digit(number)}UTO{birth}{check_digit(birth)}F{expiry}{check_digit(expiry)}"
    line += "<" * 14 + "<"
    return line + str(check_digit(line[0:10] + line[13:20] + line[21:43]))


def test_two_digit_birth_year_uses_today():
    line2 = _td3_line2("L898902C3", "100812", "300415")
    mrz = parse_mrz([TD3[0], line2], today=TODAY)
    assert mrz.birth_date == date(2010, 8, 12) and mrz.expiry_date == date(2030, 4, 15)
    assert parse_mrz([TD3[0], _td3_line2("L898902C3", "300812", "300415")], today=TODAY).birth_date == date(1930, 8, 12)
