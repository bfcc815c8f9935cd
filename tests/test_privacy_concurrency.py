"""The retention run twice at once (the nightly timer and the page's button): real threads on PostgreSQL. One run
anonymises the case, the other waits and finds it done; neither fails."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from movements.models import Person
from privacy import retention
from privacy.models import AnonymisedCase, RetentionRun
from tests.conftest import case_in
from tests.test_concurrency import race

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite has no advisory locks to race on (set DATABASE_URL=postgres://…)",
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles"),
]


def test_two_runs_at_once_anonymise_a_case_once(ops):
    closed = datetime.datetime(2027, 3, 10, 10, tzinfo=datetime.timezone.utc)
    with time_machine.travel(closed, tick=False):
        case = case_in("withdrawn", ops, members=3)
    later = closed + datetime.timedelta(days=366)
    with time_machine.travel(later, tick=False):
        results, errors = race(lambda: retention.apply(actor="timer", now=timezone.now()),
                               lambda: retention.apply(actor="page", now=timezone.now()))
    assert errors == [None, None], errors
    assert sorted(run.cases for run in results) == [0, 1]
    assert RetentionRun.objects.count() == 2
    assert AnonymisedCase.objects.filter(case=case).count() == 1
    assert Person.objects.filter(case=case, family_name="Anonymised").count() == 3
