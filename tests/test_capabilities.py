"""Optional provider features are protocols an adapter implements or not; the error table a
provider's detail answer feeds is drawn by the UI from typed entries."""

from __future__ import annotations

import pytest

from jobwatch.adapters import ADAPTERS
from jobwatch.adapters.capabilities import (
    DetailEndpoint,
    RelatedJobs,
    ReportedError,
    has_detail_endpoint,
)
from jobwatch.ui import ERROR_COLUMNS, ERRORS_SHOWN, error_table


@pytest.mark.parametrize(("name", "detail", "related"), [
    ("retailgrid", False, True),
    ("merchantops", True, False),
    ("julep", False, False),
    ("claret", False, False),
])
def test_each_provider_has_the_capabilities_its_api_page_describes(name, detail,
                                                                   related) -> None:
    cls = ADAPTERS[name]
    assert has_detail_endpoint(cls) is detail
    assert issubclass(cls, DetailEndpoint) is detail
    assert issubclass(cls, RelatedJobs) is related


def test_merchantops_errors_become_typed_entries_and_odd_entries_are_left_out() -> None:
    adapter = ADAPTERS["merchantops"]
    detail = {"errors": [{"error_type": "validation", "entity_key": "SKU-1",
                          "message": "price\nmissing"}, "not an object", {"message": 3}],
              "warnings": [{"message": "w"}]}
    errors, warnings = adapter.detail_reports(detail)
    assert len(errors) == 3 and len(warnings) == 1  # the reports keep them as sent
    assert adapter.reported_errors(errors) == [
        ReportedError(kind="validation", key="SKU-1", message="price\nmissing"),
        ReportedError(kind="", key="", message="3")]


def test_the_error_table_shows_the_first_errors_and_counts_the_rest() -> None:
    errors = [ReportedError(kind="validation", key=f"SKU-{n}", message=f"bad\n  row {n}")
              for n in range(ERRORS_SHOWN + 2)]
    title, columns, rows, footer = error_table("merchantops job_1", errors, len(errors) + 1, 2)
    assert title == f"merchantops job_1: {ERRORS_SHOWN + 3} error(s)"
    assert columns == ERROR_COLUMNS == ["type", "key", "message"]
    assert rows[0] == ["validation", "SKU-0", "bad row 0"]  # one line per message
    assert len(rows) == ERRORS_SHOWN
    assert footer == "… and 3 more error(s); 2 warning(s)"


def test_an_error_table_of_few_errors_has_no_footer() -> None:
    title, _, rows, footer = error_table("m 1", [ReportedError("t", "k", "m")], 1, 0)
    assert (title, rows, footer) == ("m 1: 1 error(s)", [["t", "k", "m"]], "")
