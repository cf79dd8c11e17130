"""SearchFilters: the one validated filter type of the CLI, the API and the page (no index needed)."""

from __future__ import annotations

import datetime

import pytest

from ingest.filters import AskpapersInputError, FilterError, SearchFilters
from ingest.store import CAT_PREFIX, SRC_PREFIX


def test_coerce_none_and_empty_mean_no_filtering():
    assert SearchFilters.coerce(None) is None
    assert SearchFilters.coerce({}) is None
    assert SearchFilters.coerce({"sources": [], "categories": "", "date_from": "  ", "date_to": None}) is None


def test_coerce_normalises_lists_aliases_and_dates():
    f = SearchFilters.coerce({"category": " cs.CL ", "categories": ["cs.LG", "cs.CL", ""], "source": "a.txt",
                              "date_from": "2024-5", "date_to": datetime.date(2024, 6, 30)})
    assert f.categories == ["cs.CL", "cs.LG"]
    assert f.sources == ["a.txt"]
    assert (f.date_from, f.date_to) == ("2024-05", "2024-06-30")
    assert (f.date_from_ord, f.date_to_ord) == (20240501, 20240630)


def test_coerce_revalidates_an_instance_changed_after_construction():
    f = SearchFilters(categories=["cs.CL"])
    assert SearchFilters.coerce(f) == f
    f.date_to = "tomorrow"
    with pytest.raises(FilterError, match="date_to: 'tomorrow' is not a date"):
        SearchFilters.coerce(f)


@pytest.mark.parametrize("bound, lower, upper", [
    ("2024", 20240101, 20241231),
    ("2024-02", 20240201, 20240231),  # end of month as an ord: every February date is <= it
    ("2024-02-29", 20240229, 20240229),
    ("0001-01-01", 10101, 10101),
])
def test_date_bounds(bound, lower, upper):
    assert SearchFilters(date_from=bound).date_from_ord == lower
    assert SearchFilters(date_to=bound).date_to_ord == upper


def test_unset_bounds_are_open():
    f = SearchFilters(categories=["x"])
    assert (f.date_from_ord, f.date_to_ord) == (0, 99999999)


@pytest.mark.parametrize("value", ["yesterday", "-5", "2024-13-45", "2023-02-29", "2024-00", "24", "2024/01/01",
                                   "2024-01-01T00:00", "0000", 2024, 12.5, ["2024"]])
def test_dates_that_are_not_calendar_dates_are_refused(value):
    with pytest.raises(FilterError) as err:
        SearchFilters.coerce({"date_from": value})
    message = str(err.value)
    assert message.startswith("date_from: ") and "(use YYYY, YYYY-MM or YYYY-MM-DD)" in message
    assert repr(value)[:20] in message and "\n" not in message


def test_date_from_after_date_to_is_refused():
    with pytest.raises(FilterError, match="date_from: '2024-03' is after date_to '2024-02-15'"):
        SearchFilters(date_from="2024-03", date_to="2024-02-15")
    assert SearchFilters(date_from="2024-02", date_to="2024-02").date_to_ord == 20240231  # same month is fine


@pytest.mark.parametrize("value, message", [
    ({"categories": [None, 5]}, "categories: None is not a string"),
    ({"sources": ["a", 5]}, "sources: 5 is not a string"),
    ({"categories": 5}, "categories: expected a string or a list of strings, got int 5"),
    ({"category": {"cs.CL": True}}, "category: expected a string or a list of strings"),
    ({"date": "2024"}, "filters: unknown filter 'date'"),
    ({1: "x"}, "filters: unknown filter 1"),
    ("cs.CL", "filters: expected a dict or SearchFilters, got str 'cs.CL'"),
    (["cs.CL"], "filters: expected a dict or SearchFilters, got list"),
])
def test_bad_shapes_name_the_field(value, message):
    with pytest.raises(FilterError) as err:
        SearchFilters.coerce(value)
    assert str(err.value).startswith(message)


def test_filter_error_is_the_projects_input_error_and_a_value_error():
    assert issubclass(FilterError, AskpapersInputError)
    assert issubclass(FilterError, ValueError) and issubclass(AskpapersInputError, TypeError)
    import assistant

    assert assistant.AskpapersInputError is AskpapersInputError and assistant.FilterError is FilterError


def test_chroma_where():
    assert SearchFilters(categories=["cs.CL"]).chroma_where() == {CAT_PREFIX + "cs.CL": True}
    where = SearchFilters(sources=["a", "b"], categories=["cs.CL"], date_from="2024", date_to="2024-06").chroma_where()
    assert where == {"$and": [
        {"$or": [{SRC_PREFIX + "a": True}, {SRC_PREFIX + "b": True}]},
        {CAT_PREFIX + "cs.CL": True},
        {"date_ord": {"$gte": 20240101}},
        {"date_ord": {"$lte": 20240631}},
        {"date_ord": {"$gt": 0}},  # an upper bound drops papers with no known date
    ]}
    assert SearchFilters().chroma_where() is None
