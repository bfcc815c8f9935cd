"""One way to ask "may this user see or change this?" — used by views, exports and the admin alike.

Roles are Django groups (DESIGN.md): operations, medical, trainer, escort, unhcr. What a role may
do is expressed as permissions granted to its group (migration 0002), so the same answers hold in
the admin. Roles without the case list (trainers, escorts) see no case unless an app that knows their people
opens some to them through `hooks.case_scopes`.
"""

from dataclasses import dataclass
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.db.models.expressions import RawSQL
from django.http import Http404

from movements import hooks, memo
from movements.compiled import compiled_once
from movements.models import Case

OPERATIONS, MEDICAL, TRAINER, ESCORT, UNHCR = "operations", "medical", "trainer", "escort", "unhcr"
ROLES = (OPERATIONS, MEDICAL, TRAINER, ESCORT, UNHCR)

def _resolve(user):
    """The user's permissions ("app.codename") and roles (group names), read once per user object (that is, once
    per request): the groups with their permissions, and the user's own permissions, read with the user from the
    session (`movements.auth_backend`), or else in one query.

    Django's ModelBackend keeps its answer in `user._perm_cache`; priming it with the same set means every
    `user.has_perm` elsewhere (transition guards, the admin, plug-ins) answers from it instead of querying again.
    """
    cached = getattr(user, "_safar_access", None)
    if cached is not None:
        return cached
    roles, permissions = set(), set()
    # Read with the user from the session (movements.auth_backend), or else asked here.
    rows = getattr(user, "safar_access_rows", None)
    if rows is None:
        rows = _access_rows(user)
    own_permissions = user.is_active and not user.is_superuser
    for name, app_label, codename in rows:
        if name is None and not own_permissions:
            continue
        if name is not None:
            roles.add(name)
        if codename is not None:
            permissions.add(f"{app_label}.{codename}")
    if user.is_active and not user.is_superuser and not hasattr(user, "_perm_cache"):
        user._perm_cache = frozenset(permissions)
    user._safar_access = cached = (frozenset(permissions), frozenset(roles))
    return cached


def _access_rows(user):
    from django.contrib.auth.models import Group, Permission
    from django.db.models import CharField, Value

    rows = Group.objects.filter(user=user).order_by().values_list(
        "name", "permissions__content_type__app_label", "permissions__codename"
    )
    if user.is_active and not user.is_superuser:
        # The user's own permissions in the same query, with no group name.
        rows = rows.union(Permission.objects.filter(user=user).order_by().values_list(
            Value(None, output_field=CharField()), "content_type__app_label", "codename"), all=True)
    return rows


class _Everything:
    """What an active superuser is granted."""

    def __contains__(self, codename):
        return True


_EVERYTHING = _Everything()


@dataclass(frozen=True)
class Access:
    user: object

    @cached_property
    def _granted(self):
        """The permissions to answer from (a page asks a hundred times): none for an anonymous or inactive user."""
        user = self.user
        if user is None or not (user.is_authenticated and user.is_active):
            return frozenset()
        return _EVERYTHING if user.is_superuser else _resolve(user)[0]

    def _perm(self, codename):
        return codename in self._granted

    @property
    def roles(self):
        if not self.user.is_authenticated:
            return set()
        return set(_resolve(self.user)[1])

    @property
    def sees_all_cases(self):
        return self._perm("movements.view_case")

    @property
    def can_create_cases(self):
        return self._perm("movements.add_case")

    @property
    def can_edit_cases(self):
        return self._perm("movements.change_case") and self._perm("movements.change_person")

    @property
    def can_edit_documents(self):
        return self._perm("movements.change_traveldocument") and self.can_see_documents

    @property
    def can_see_contact(self):
        return self._perm("movements.view_contact_details")

    @property
    def can_see_documents(self):
        return self._perm("movements.view_travel_documents")

    @property
    def can_see_clearance_details(self):
        """Medical clearance, travel needs and medical blockers in plain words, and the reasons given for holds
        and withdrawals: operations and medical staff (never UNHCR)."""
        return self._perm("movements.view_clearance_details")

    @property
    def can_see_medical(self):
        """Diagnoses, outcome profiles, TB status and notes: the medical role only."""
        return self._perm("movements.view_medicalexam")

    @property
    def can_record_medical(self):
        return self._perm("movements.add_medicalexam") and self._perm("movements.change_travelmedicalneeds")

    @property
    def can_move_cases(self):
        return self._perm("movements.move_case") or self._perm("movements.hold_case")

    @property
    def can_use_case_pages(self):
        return self.sees_all_cases or bool(hooks.case_scopes.providers and self.visible_cases().exists())


def access_for(user):
    """The user's `Access`, made once per user object (once per request), as its permissions are read once: a
    change to the user's roles, `is_active` or `is_superuser` counts from the next request (the next user object)."""
    if user is None:  # no user at all (a request the API's own views have not authenticated)
        return Access(None)
    found = getattr(user, "_safar_access_object", None)
    if found is None:
        found = user._safar_access_object = Access(user)
    return found


def visible_cases(user):
    access = access_for(user)
    if not user.is_authenticated:
        return Case.objects.none()
    if access.sees_all_cases:
        return Case.objects.all()
    scoped = Case.objects.none()
    for scope in hooks.case_scopes.providers:
        answer = scope(user)
        if answer is not None:
            scoped = scoped | answer
    return scoped


Access.visible_cases = lambda self: visible_cases(self.user)


def get_case_for_user(user, case_number, *, write=False, page_reads=False):
    """Return (case, access) for a case this user may see; 404 if they may not (no existence leak).

    `page_reads`: read with the case what plug-ins ask for the case page (`hooks.case_page_reads`), and keep it
    for the page (`movements.memo`)."""
    access = access_for(user)
    cases = visible_cases(user)
    reads = {}
    if page_reads and memo.active():  # kept only for a page that only reads
        reads = _compiled_page_reads(cases.db)

    def build(number, cases=cases):
        return cases.annotate(**{name: expression for name, (key, expression) in reads.items()}).filter(
            case_number=number)

    if access.sees_all_cases:
        # The same statement for everyone who sees every case: built and compiled once per process.
        key = ("access.case", tuple(hooks.case_page_reads.providers) if reads else ())
        found = compiled_once(key, build, case_number, using=cases.db)
    else:
        found = list(build(case_number)[:2])
    if not found:
        raise Http404("No such case.")
    case = found[0]  # the case number is unique
    if write and not access.can_edit_cases:
        raise PermissionDenied("You may read this case but not change it.")
    for name, (key, expression) in reads.items():
        memo.remember((key, case.pk), case.__dict__.pop(name))
    return case, access


_page_reads_sql = {}


def _compiled_page_reads(using):
    """{annotation name: (memo key, expression)} for what plug-ins read with the case on its page
    (`hooks.case_page_reads`), each expression compiled to SQL once per process and database.

    Building and compiling the plug-ins' `Exists` afresh took about a twelfth of the case page's time. Compiled
    once against the case table, each is kept as `RawSQL` and read as a column of the case's row, which the case
    query names by its table (the case page's query has no other alias for it). An expression that needs more
    than the case's row (a join, or a GROUP BY: `Count("members")`) is kept as it is and built with each query.
    The expressions must not depend on the request or the moment, as the hook says."""
    providers = tuple(hooks.case_page_reads.providers)
    found = _page_reads_sql.get((using, providers))
    if found is None:
        expressions = {}
        for provider in providers:
            expressions.update(provider())
        found = {}
        for n, (key, expression) in enumerate(expressions.items()):
            name = f"page_read_{n}"
            compiler = Case.objects.annotate(**{name: expression}).query.get_compiler(using)
            compiler.setup_query()
            query = compiler.query
            if set(query.alias_map) != {Case._meta.db_table} or query.group_by:
                found[name] = (key, expression)  # not a column of the case's row alone
                continue
            [(column, (sql, params))] = [(c, compiled) for c, compiled, alias in compiler.select if alias == name]
            found[name] = (key, RawSQL(sql, params, output_field=column.output_field))
        _page_reads_sql[(using, providers)] = found
    return found
