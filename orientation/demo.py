"""Orientation's demo data for `manage.py seed_demo` (through `hooks.demo_data`): past sessions the cleared
cases completed, a running session with day 1 recorded, and planned ones; all through the real services."""

import datetime

from django.contrib.auth.models import Group, User

from movements import hooks
from movements.models import CaseState
from orientation import services
from orientation.models import Session, SessionDay


@hooks.demo_data.register
def orientation_demo(demo):
    return DemoOrientation(demo.users, demo.today)


class DemoOrientation:
    """Orientation as the demo needs it: past sessions (closed) that the cleared cases completed, a running
    session with day 1 recorded, and a planned one; all through the real services."""

    def __init__(self, users, today):
        self.ops, self.trainer, self.today = users["ops"], users["trainer"], today
        # A second trainer, who cannot log in: the demo trainer must not see her session.
        self.other_trainer, _ = User.objects.get_or_create(
            username="farida.trainer", defaults={"first_name": "Farida", "last_name": "Trainer"}
        )
        self.other_trainer.set_unusable_password()
        self.other_trainer.save()
        self.other_trainer.groups.set([Group.objects.get(name="trainer")])
        self.past = {}  # language -> session being filled
        self.opened = []
        self.weeks_back = 9

    def session(self, language, first_day, state, trainer):
        session = Session.objects.create(
            curriculum="adult", language=language, location="IOM Dushanbe, orientation room 2",
        )
        session.trainers.set([trainer])
        SessionDay.objects.bulk_create(
            [SessionDay(session=session, number=n, date=first_day + datetime.timedelta(days=n - 1)) for n in (1, 2, 3)]
        )
        if state in ("running", "closed"):
            session.start()
            session.save(update_fields=["state"])
        return session

    def make_ready(self, case):
        """Enrol the case in a past session of its language and record every day present (orientation done)."""
        language = "tgk" if case.members.filter(language="tgk").exists() else "prs"
        session = self.past.get(language)
        due = [p for p in case.members.all() if services.orientation_due(p, self.today)]
        if not due:
            return
        if session is None or session.enrolments.count() + len(due) > session.capacity:
            first = self.today - datetime.timedelta(weeks=self.weeks_back)
            self.weeks_back -= 1
            session = self.past[language] = self.session(language, first, "running", self.trainer)
            self.opened.append(session)
        enrolled, _ = services.enrol_case(session, case, by=self.ops)
        ids = {e.pk for e in session.enrolments.filter(person__in=enrolled)}
        for day in session.ordered_days:
            services.record_roll_call(day, {pk: "present" for pk in ids}, by=self.trainer)

    def finish(self, cases):
        for session in self.opened:
            session.close()
            session.save(update_fields=["state"])
        approved = [c for c in sorted(cases, key=lambda c: c.pk) if c.state == CaseState.APPROVED
                    if not c.members.filter(enrolments__isnull=False).exists()]
        running = self.session("prs", self.today - datetime.timedelta(days=1), "running", self.trainer)
        for case in approved[:3]:
            try:
                services.enrol_case(running, case, by=self.ops)
            except services.OrientationError:
                pass
        day1 = running.ordered_days[0]
        marks = {e.pk: "present" for e in running.enrolments.all()}
        if marks:
            marks[min(marks)] = "late"
            marks[max(marks)] = "absent"
            services.record_roll_call(day1, marks, by=self.trainer)
        planned = self.session("prs", self.today + datetime.timedelta(days=14), "planned", self.trainer)
        for case in approved[3:4]:
            try:
                services.enrol_case(planned, case, by=self.ops)
            except services.OrientationError:
                pass
        self.session("tgk", self.today + datetime.timedelta(days=21), "planned", self.other_trainer)
        assert Session.objects.filter(state="closed").exists()
