"""The values of an organization archive's rows are checked, as the import reads them, against their columns: every
column an archive carries has a check of its type, and the enums and lower bounds declared per kind name columns
it carries."""

from __future__ import annotations

import pytest

from app.domain.transfer.archive import KINDS, InvalidValueError, decoded, value_check


def test_every_archived_column_has_a_check_of_its_values() -> None:
    for kind in KINDS:
        for column in kind.columns():
            value_check(column)  # LookupError for a type without one


def test_the_enums_and_bounds_of_a_kind_name_its_columns() -> None:
    for kind in KINDS:
        carried = {column.name for column in kind.columns()}
        assert set(kind.enums) | set(kind.least) <= carried, kind.name


@pytest.mark.parametrize(
    ("kind", "row", "column"),
    [
        ("memberships", {"role": "superadmin"}, "role"),
        ("memberships", {"invitation_pending": 1}, "invitation_pending"),
        ("reports", {"number": 0}, "number"),
        ("reports", {"number": True}, "number"),
        ("reports", {"tags": ["a\ud800"]}, "tags"),
        ("reports", {"page_metadata": {"\0": 1}}, "page_metadata"),
        ("project_columns", {"position": -1}, "position"),
    ],
)
def test_a_value_its_column_does_not_take_is_refused_naming_the_column(
    kind: str, row: dict[str, object], column: str
) -> None:
    [chosen] = [candidate for candidate in KINDS if candidate.name == kind]
    with pytest.raises(InvalidValueError) as refused:
        decoded(chosen, row)
    assert refused.value.column == column


def test_a_row_of_good_values_is_taken_as_the_table_takes_it() -> None:
    [kind] = [candidate for candidate in KINDS if candidate.name == "memberships"]
    values = decoded(kind, {"user_id": "0195f0a0-0000-7000-8000-000000000000", "role": "admin"})
    assert str(values["user_id"]) == "0195f0a0-0000-7000-8000-000000000000"
    assert values["role"] == "admin"
