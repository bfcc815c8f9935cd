"""`python manage.py refresh_readiness`: recompute the stored blockers of every open case.

Blockers change as time passes (a passport or an IME expires overnight) without anyone touching the
case. The case page and every transition recompute them live; the case list's "has blockers" filter and
the dashboard read the stored copy, which this command brings up to date. Run it daily (cron).
"""

from django.core.management.base import BaseCommand

from movements import readiness
from movements.models import READINESS_STATES, Case


class Command(BaseCommand):
    help = "Recompute the stored readiness blockers of every open case (run daily)."

    def handle(self, *args, **options):
        checked = changed = 0
        cases = Case.objects.filter(state__in=READINESS_STATES).order_by("pk")
        for case in cases.iterator(chunk_size=500):
            before = (case.blocker_count, case.blockers)
            readiness.refresh_snapshot(case)
            checked += 1
            changed += (case.blocker_count, case.blockers) != before
        self.stdout.write(f"Checked {checked} open case(s); {changed} had their blockers change.")
