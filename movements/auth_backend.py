"""Django's ModelBackend, except that the user read from the session (once per request) brings their roles and
permissions in the same query, for `movements.access`: every page behind log-in asks them, and a second query for
them cost each page a round trip to the database.

The answer is read fresh with the user on every request, so a role taken away applies on the next page, as before.
"""

import json

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import User
from django.db import connections
from django.db.models import TextField
from django.db.models.expressions import RawSQL

# The user's groups, each with its permissions (or none), and the user's own permissions with no group: as a JSON
# array of [group name or null, app label or null, codename or null], whatever the characters in a group's name.
_ROWS = """
    SELECT g.name AS name, ct.app_label AS app_label, p.codename AS codename
    FROM auth_user_groups ug
    JOIN auth_group g ON g.id = ug.group_id
    LEFT JOIN auth_group_permissions gp ON gp.group_id = g.id
    LEFT JOIN auth_permission p ON p.id = gp.permission_id
    LEFT JOIN django_content_type ct ON ct.id = p.content_type_id
    WHERE ug.user_id = auth_user.id
    UNION ALL
    SELECT NULL, ct.app_label, p.codename
    FROM auth_user_user_permissions up
    JOIN auth_permission p ON p.id = up.permission_id
    JOIN django_content_type ct ON ct.id = p.content_type_id
    WHERE up.user_id = auth_user.id
"""
_AGGREGATE = {
    "postgresql": "SELECT json_agg(json_build_array(name, app_label, codename))::text FROM ({rows}) access_rows",
    "sqlite": "SELECT json_group_array(json_array(name, app_label, codename)) FROM ({rows}) access_rows",
}


def access_rows_sql(vendor):
    """The subquery, or None on a database without one (the access module then asks in its own query)."""
    template = _AGGREGATE.get(vendor)
    return template.format(rows=_ROWS) if template else None


def parse_access_rows(text):
    """[(group name or None, app label or None, codename or None)] from the subquery's JSON (None: no rows)."""
    return [tuple(row) for row in json.loads(text)] if text else []


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id):
        UserModel = get_user_model()
        users = UserModel._default_manager.all()
        # The subquery names Django's own tables: another user model is asked in the access module's query.
        sql = access_rows_sql(connections[users.db].vendor) if UserModel is User else None
        if sql:
            users = users.annotate(safar_access_rows=RawSQL(sql, (), output_field=TextField()))
        try:
            user = users.get(pk=user_id)
        except UserModel.DoesNotExist:
            return None
        if sql:
            user.safar_access_rows = parse_access_rows(user.safar_access_rows)
        return user if self.user_can_authenticate(user) else None
