"""movements.memo: what one page reads once, and nothing kept outside a page or across requests."""

import pytest
from django.test import RequestFactory

from movements import memo


def counter():
    calls = []

    def load():
        calls.append(1)
        return len(calls)

    return calls, load


def test_outside_a_page_every_ask_reads_afresh():
    calls, load = counter()
    assert [memo.once("k", load), memo.once("k", load)] == [1, 2]
    assert not memo.active()


def test_inside_a_page_a_key_is_read_once_and_the_answer_shared():
    calls, load = counter()
    with memo.page():
        assert memo.active()
        assert [memo.once("k", load), memo.once("k", load), memo.once("other", load)] == [1, 1, 2]
        with memo.page():  # a nested block shares the outer page's answers
            assert memo.once("k", load) == 1
    assert not memo.active() and memo.once("k", load) == 3


def test_what_a_page_remembers_is_handed_on_only_within_it():
    calls, load = counter()
    with memo.page():
        memo.remember("k", "loaded by the view")
        assert memo.once("k", load) == "loaded by the view" and calls == []
    memo.remember("k", "nowhere to keep it")
    assert memo.once("k", load) == 1


def test_an_answer_read_in_error_is_not_kept():
    calls = []

    def failing():
        calls.append(1)
        raise RuntimeError("database went away")

    with memo.page():
        for _ in range(2):
            with pytest.raises(RuntimeError):
                memo.once("k", failing)
    assert len(calls) == 2


@pytest.mark.parametrize("method, shared", [("get", True), ("head", True), ("post", False)])
def test_only_a_get_or_head_is_served_as_a_read_only_page(method, shared):
    seen = []

    @memo.read_only_page
    def view(request):
        seen.append(memo.active())
        return "ok"

    assert view(getattr(RequestFactory(), method)("/")) == "ok"
    assert seen == [shared] and not memo.active()
