"""Queries typed one per line in the web forms: kept, de-duplicated, or refused per line."""

from __future__ import annotations

from digest.subscriptions import MAX_QUERIES, check_query_lines


def test_blank_lines_and_repeats_are_dropped_in_order() -> None:
    assert check_query_lines('  LLM \n\n"sparse attention"\nLLM\r\ndiffusion\n') == (
        ["LLM", '"sparse attention"', "diffusion"],
        [],
    )


def test_every_bad_line_is_named() -> None:
    queries, problems = check_query_lines('ok\n"open\nfine\n' + "z" * 501)
    assert queries == ["ok", "fine"]
    # The reasons are the query language's (digest.matching); the line numbers are ours.
    assert [problem.split(":", 1)[0] for problem in problems] == ["Line 2", "Line 4"]
    assert all(len(problem.split(":", 1)[1].strip()) > 5 for problem in problems)


def test_nothing_or_too_much_is_refused_as_a_whole() -> None:
    assert check_query_lines(" \n\t\n") == ([], ["Enter at least one query."])
    many = "\n".join(f"q{number}" for number in range(MAX_QUERIES + 1))
    assert check_query_lines(many) == (
        [],
        [f"Enter at most {MAX_QUERIES} queries (one per line); there are {MAX_QUERIES + 1}."],
    )
