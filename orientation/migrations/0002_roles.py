"""Trainers run the sessions they are assigned; operations plans sessions and enrols people."""

from django.db import migrations

from movements.migrations._grants import grant


def grant_orientation(apps, schema_editor):
    grant(apps, "trainer", ["view_session", "run_session", "view_enrolment", "view_attendance"], "orientation")
    grant(apps, "operations", [
        "view_session", "add_session", "change_session", "run_session", "view_enrolment", "add_enrolment",
        "view_attendance", "view_attendancechange",
    ], "orientation")


class Migration(migrations.Migration):
    dependencies = [("orientation", "0001_initial"), ("movements", "0002_roles")]
    operations = [migrations.RunPython(grant_orientation, migrations.RunPython.noop)]
