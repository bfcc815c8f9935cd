"""`Case.blocker_count` counts the blockers that block now, not those due before boarding (a rule that gates
`depart` alone, such as the fit-to-travel check): recount the stored snapshots, as `readiness.blocking` does."""

from django.db import migrations

DUE_BEFORE_BOARDING = ["depart"]


def recount(apps, schema_editor):
    Case = apps.get_model("movements", "Case")
    changed = []
    for case in Case.objects.filter(blocker_count__gt=0).only("id", "blockers", "blocker_count").iterator(2000):
        # A snapshot stored before blockers carried their gates gated everything.
        count = sum(1 for b in case.blockers or [] if sorted(b.get("gates") or ()) != DUE_BEFORE_BOARDING)
        if count != case.blocker_count:
            case.blocker_count = count
            changed.append(case)
        if len(changed) >= 2000:
            Case.objects.bulk_update(changed, ["blocker_count"])
            changed = []
    Case.objects.bulk_update(changed, ["blocker_count"])


def count_all(apps, schema_editor):
    """Back to counting every stored blocker, as the code before this migration did."""
    Case = apps.get_model("movements", "Case")
    changed = []
    for case in Case.objects.only("id", "blockers", "blocker_count").iterator(2000):
        if len(case.blockers or []) != case.blocker_count:
            case.blocker_count = len(case.blockers or [])
            changed.append(case)
    Case.objects.bulk_update(changed, ["blocker_count"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [("movements", "0023_list_indexes_cover_their_keys")]

    operations = [migrations.RunPython(recount, count_all, elidable=True)]
