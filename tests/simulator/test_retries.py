"""Retries performed, not scheduled: the books the checker and the TUI share."""

from __future__ import annotations

from simulator.retries import RetryBooks


def test_a_handler_retry_counts_once_the_handler_runs_again() -> None:
    books = RetryBooks()
    books.scheduled("billing", 7)
    assert books.performed(0) == 0
    books.tried("billing", 7)
    assert books.performed(0) == 1
    books.tried("billing", 7)  # a later try with nothing scheduled is not a retry
    assert books.performed(0) == 1


def test_a_retry_called_off_by_the_dead_letter_queue_never_counts() -> None:
    books = RetryBooks()
    books.scheduled("billing", 7)
    books.called_off("billing", 7)
    books.tried("billing", 7)
    assert books.performed(10_000) == 0


def test_a_resend_counts_once_its_backoff_is_over_unless_an_answer_came_first() -> None:
    books = RetryBooks()
    books.resend_scheduled("checkout", 1, at_ms=100, backoff_ms=50)
    assert books.performed(120) == 0
    assert books.performed(150) == 1
    books.answered("checkout", 1, at_ms=160)
    assert books.performed(10_000) == 1
    books.resend_scheduled("checkout", 2, at_ms=100, backoff_ms=50)
    books.answered("checkout", 2, at_ms=120)  # the ack arrived during the backoff
    assert books.performed(10_000) == 1


def test_a_resend_dies_with_its_producer_and_copies_are_independent() -> None:
    books = RetryBooks()
    books.resend_scheduled("checkout", 1, at_ms=100, backoff_ms=50)
    copy = books.copy()
    books.producer_crashed("checkout", at_ms=120)
    assert books.performed(10_000) == 0
    assert copy.performed(10_000) == 1
    assert copy != books
