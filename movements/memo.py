"""Read once per page: what several parts of one page ask the database for, asked once.

The case page is put together by the core and its plug-ins, each asking for what it needs: readiness asks a
plug-in for the case's travel plan and its requirements read the members' records, then the same plug-in's panel
and the member notes ask for the same rows again. Inside `page()` (a view that only reads wraps its work in it) a plug-in's
`once(key, load)` runs `load` the first time a key is asked for and hands every later caller the same answer;
outside it, `load` runs every time — so a view or service that changes data, then reads it back, never sees an
answer read before its change. Callers treat what they get as read-only: the next caller gets the same object.

    plan = memo.once(("myplugin.plan", case.pk), lambda: Plan.objects.filter(case=case).first())
"""

import contextvars
import functools
from contextlib import contextmanager

_answers = contextvars.ContextVar("safar_page_memo", default=None)


@contextmanager
def page():
    """Share answers between the parts of one page for the length of the block (nested blocks share the outer's)."""
    if _answers.get() is not None:
        yield
        return
    token = _answers.set({})
    try:
        yield
    finally:
        _answers.reset(token)


def read_only_page(view):
    """A view decorator: a GET or HEAD request is served inside `page()`; any other method reads afresh."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        with page():
            return view(request, *args, **kwargs)

    return wrapper


def active():
    """Whether answers are being shared (inside `page()`)."""
    return _answers.get() is not None


def once(key, load):
    """`load()`, asked once per key inside `page()`; every time outside it."""
    answers = _answers.get()
    if answers is None:
        return load()
    try:
        return answers[key]
    except KeyError:
        answer = answers[key] = load()
        return answer


def remember(key, answer):
    """Give a page's later callers an answer this page has already loaded (outside `page()`, nothing is kept)."""
    answers = _answers.get()
    if answers is not None:
        answers.setdefault(key, answer)
    return answer


_MISSING = object()


def recall(key, default=None):
    """What this page has remembered or read under `key`, or `default` (always `default` outside `page()`)."""
    answers = _answers.get()
    if answers is None:
        return default
    answer = answers.get(key, _MISSING)
    return default if answer is _MISSING else answer


def case_members(case):
    """The case's members, oldest record first, with their documents and travel needs (`movements.family`): read
    once per page."""
    from movements import family

    return once(("movements.members", case.pk), lambda: family.members(case))
