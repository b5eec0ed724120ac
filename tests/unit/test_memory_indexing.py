"""What memories are indexed by: thread context, dates, query content words."""

from __future__ import annotations

from uuid import uuid4

from domain.memory.indexing import (
    MAX_CONTEXT_CHARS,
    clip_context,
    index_text,
    query_terms,
    same_words,
    searchable_dates,
    thread_of,
)


def test_thread_from_metadata_or_source_conversation() -> None:
    conversation = uuid4()
    assert thread_of({"session": "session_3"}, None) == "session=session_3"
    assert thread_of({"session": 3}, conversation) == "session=3"  # metadata first
    assert thread_of({}, conversation) == f"conversation={conversation}"
    assert thread_of({"session": ""}, None) is None
    assert thread_of({"session": True, "thread": ["x"]}, None) is None  # not names
    assert thread_of({}, None) is None


def test_dates_and_context_are_indexed_around_the_content() -> None:
    meta = {"date": "1:56 pm on 8 May, 2023", "dia_id": "D1:3"}
    assert searchable_dates(meta) == "1:56 pm on 8 May, 2023"
    assert index_text("Mel: great!", "Caro: I got the job", meta) == (
        "1:56 pm on 8 May, 2023.\nCaro: I got the job\nMel: great!"
    )
    assert index_text("plain", "", {}) == "plain"
    long = "a" * (MAX_CONTEXT_CHARS + 10) + "END"
    assert clip_context(long).endswith("END") and len(clip_context(long)) == MAX_CONTEXT_CHARS


def test_query_terms_keep_content_words_once() -> None:
    assert query_terms("When did Caroline go to the LGBTQ support group?") == [
        "caroline",
        "go",
        "lgbtq",
        "support",
        "group",
    ]
    assert query_terms("what is it") == ["what", "is", "it"]  # nothing but stop words
    assert query_terms("Pixel pixel PIXEL") == ["pixel"]
    assert query_terms("?!") == []


def test_same_words_is_near_identical_text_only() -> None:
    assert same_words("I prefer green tea", "i prefer GREEN tea!")
    assert not same_words("I prefer green tea", "I prefer black coffee")
    assert not same_words("Thanks!", "")
