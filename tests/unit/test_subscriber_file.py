"""The subscriber CSV format: every bad row reported with its line, and a lossless round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.errors import InputError
from digest.matching import QueryError, compile_query
from digest.models import Cadence, SubscriberStatus
from digest.subscriber_file import (
    Entry,
    Problem,
    count_rows,
    read_csv,
    separator_clashes,
    write_csv,
    write_json,
)


def test_good_rows_become_normalised_entries_with_defaults() -> None:
    checked = read_csv(
        b"email,queries,status,cadence\n"
        b'Ada@Example.ORG, LLM ; "sparse attention" ;,,\n'
        b"bob@example.org,diffusion,PAUSED,weekly\n"
        b"carol@example.org,,unsubscribed,\n"
    )
    assert checked.problems == []
    assert checked.entries == [
        Entry("ada@example.org", ("LLM", '"sparse attention"')),
        Entry("bob@example.org", ("diffusion",), SubscriberStatus.PAUSED, Cadence.WEEKLY),
        Entry("carol@example.org", (), SubscriberStatus.UNSUBSCRIBED),
    ]


def test_columns_may_come_in_any_order_and_status_and_cadence_may_be_left_out() -> None:
    checked = read_csv(b"\xef\xbb\xbfQueries,Email\r\nLLM,ada@example.org\r\n")  # BOM, CRLF
    assert checked.entries == [Entry("ada@example.org", ("LLM",))]


def test_every_bad_row_is_reported_with_its_line_and_every_reason() -> None:
    checked = read_csv(
        b"email,queries,status,cadence\n"
        b"ada@example.org,LLM,active,daily\n"  # 2: good
        b"not-an-address,LLM,active,daily\n"  # 3
        b"bob@example.org,,active,daily\n"  # 4
        b'carol@example.org,"ok; ""open",activ,hourly\n'  # 5: three reasons
        b"\n"  # 6: blank lines are skipped
        b'dave@example.org,"two\nlines",active,daily\n'  # 7-8: a quoted line break is fine
        b"ADA@example.org,GPU,active,daily\n"  # 9: the same address again
        b"erin@example.org,LLM,active\n"  # 10
    )
    assert [entry.email for entry in checked.entries] == ["ada@example.org", "dave@example.org"]
    assert checked.problems == [
        Problem(3, "invalid email address 'not-an-address': An email address must have an @-sign."),
        Problem(4, "no queries (separate several with ';')"),
        Problem(
            5,
            "unknown status 'activ' (one of pending, active, paused, unsubscribed, bounced); "
            "unknown cadence 'hourly' (one of daily, weekly); "
            "query 2 (' \"open'): the quote at character 2 is never closed",
        ),
        Problem(9, "ada@example.org is already on line 2"),
        Problem(10, "3 fields, expected 4 (email, queries, status, cadence)"),
    ]
    assert checked.rows == 7


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty; expected a header row with email, queries, status, cadence"),
        (b"email,queries,nickname\n", "line 1: unknown column 'nickname'"),
        (b"email,email,queries\n", "line 1: the column 'email' appears twice"),
        (b"email,status\n", "line 1: no 'queries' column"),
        (b"email,queries\nada@example.org,\xff\xfe\n", "the file is not UTF-8 text (byte 31)"),
        (b"email,queries\nada@example.org,LLM\x00\n", "the file contains NUL bytes"),
        (b'email,queries\nada@example.org,"LLM\n', "line 2: malformed CSV: unexpected end of data"),
        (
            b'email,queries\na@example.org,"LLM"x\n',
            "line 2: malformed CSV: ',' expected after '\"'",
        ),
    ],
)
def test_a_file_that_is_not_subscriber_csv_is_refused_whole(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as refused:
        read_csv(data)
    assert str(refused.value).startswith(message)


def test_progress_is_reported_per_row() -> None:
    data = b"email,queries\na@example.org,x\nb@example.org,y\nbad,z\n"
    seen: list[int] = []
    read_csv(data, advance=seen.append)
    assert seen == [1, 1, 1]
    assert count_rows(data) == 3
    assert count_rows(data.rstrip(b"\n")) == 3


def test_queries_with_the_separator_are_named_before_an_export_splits_them() -> None:
    entries = [Entry("ada@example.org", ("LLM", "a;b"))]
    assert separator_clashes(entries) == ["ada@example.org: 'a;b'"]


def test_json_carries_the_same_four_fields() -> None:
    assert write_json([Entry("ada@example.org", ("LLM",), cadence=Cadence.WEEKLY)]) == (
        "[\n"
        "  {\n"
        '    "email": "ada@example.org",\n'
        '    "queries": [\n'
        '      "LLM"\n'
        "    ],\n"
        '    "status": "active",\n'
        '    "cadence": "weekly"\n'
        "  }\n"
        "]\n"
    )


def _valid(text: str) -> bool:
    try:
        return compile_query(text).text == text
    except QueryError:
        return False


# Queries as people write them: words and quoted phrases, punctuation, any script. The
# separator never occurs in one (see separator_clashes), and invalid ones are refused
# on the way in, so neither is generated.
word = st.text(
    alphabet=st.characters(categories=["L", "N"], include_characters="-'.,+"),
    min_size=1,
    max_size=12,
).filter(lambda text: any(char.isalnum() for char in text))
term = st.one_of(word, st.lists(word, min_size=1, max_size=3).map(lambda w: f'"{" ".join(w)}"'))
query = st.lists(term, min_size=1, max_size=4).map(" ".join).filter(_valid)
entry = st.builds(
    Entry,
    email=st.from_regex(r"[a-z][a-z0-9]{0,6}(\.[a-z0-9]{1,6})?@example\.(org|com)", fullmatch=True),
    queries=st.lists(query, min_size=1, max_size=3, unique=True).map(tuple),
    status=st.sampled_from(SubscriberStatus),
    cadence=st.sampled_from(Cadence),
)


@settings(max_examples=60)  # generating entries is the slow part
@given(st.lists(entry, max_size=5, unique_by=lambda e: e.email))
def test_what_write_csv_writes_read_csv_reads_back(entries: list[Entry]) -> None:
    checked = read_csv(write_csv(entries).encode())
    assert checked.problems == []
    assert checked.entries == entries
