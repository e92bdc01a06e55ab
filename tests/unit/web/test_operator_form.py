"""Every field of the operator's register and change-a-meter forms has its rule in words: a
field added to the model without one would be refused in no words the page can say."""

from __future__ import annotations

from gridshare.web.operator_form import METER_RULES, REGISTER_RULES, typed_int
from gridshare.web.schemas import MeterChange, NewHousehold


def test_each_field_of_the_forms_models_has_its_rule_in_the_forms_order() -> None:
    assert list(REGISTER_RULES) == list(NewHousehold.model_fields)
    assert list(METER_RULES) == list(MeterChange.model_fields)


def test_a_number_field_reads_the_digits_an_urdu_keyboard_types_and_leaves_the_rest() -> None:
    assert [typed_int(text) for text in ("۳۰", "٣", " 12 ")] == [30, 3, 12]
    assert [typed_int(text) for text in ("1e3", "²", "-5", "", "9" * 65)] == [
        "1e3", "²", "-5", "", "9" * 65]  # the model refuses them under the field's rule
