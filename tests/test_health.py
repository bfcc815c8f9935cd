"""The health check a load balancer asks: the database answers and every migration is applied."""

import json
import os

import pytest
from django.db.migrations.recorder import MigrationRecorder


@pytest.mark.django_db
def test_it_says_ok_without_a_log_in_and_is_never_cached(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "database": "ok", "migrations": "applied"}
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_it_answers_503_while_a_migration_is_unapplied(client):
    latest = MigrationRecorder.Migration.objects.filter(app="movements").order_by("-name").first()
    latest.delete()  # as if the code were deployed before `migrate` ran (rolled back with the test)
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "unavailable", "database": "ok", "migrations": "pending"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_it_shows_no_personal_data_to_a_logged_in_user_either(client, ops):
    from tests.conftest import make_case

    case = make_case(1)
    client.force_login(ops)
    body = client.get("/healthz/").content.decode()
    assert case.case_number not in body and "Karimi" not in body
    assert len(body) < 100


@pytest.mark.django_db
def test_it_refuses_anything_but_get_and_head(client):
    assert client.post("/healthz/").status_code == 405
    assert client.head("/healthz/").status_code == 200


def test_the_gunicorn_configuration_reads_workers_and_threads_strictly(monkeypatch):
    import runpy
    from pathlib import Path

    from django.core.exceptions import ImproperlyConfigured

    conf = str(Path(__file__).resolve().parent.parent / "config" / "gunicorn.conf.py")
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    # Two sync workers per CPU this process may use, at most 9 (database connections).
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    values = runpy.run_path(conf)
    assert (values["workers"], values["threads"]) == (4, 1)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert runpy.run_path(conf)["workers"] == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    assert runpy.run_path(conf)["workers"] == 9
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "4")
    values = runpy.run_path(conf)
    assert (values["workers"], values["threads"], values["bind"]) == (3, 4, "127.0.0.1:8000")
    monkeypatch.setenv("GUNICORN_WORKERS", "four")
    with pytest.raises(ImproperlyConfigured, match="GUNICORN_WORKERS"):
        runpy.run_path(conf)
    monkeypatch.setenv("GUNICORN_WORKERS", "0")
    with pytest.raises(ImproperlyConfigured, match="GUNICORN_WORKERS"):
        runpy.run_path(conf)
