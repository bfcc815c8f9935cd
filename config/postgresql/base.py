"""Django's PostgreSQL backend, with parameters bound on the server so that a connection's repeated queries are
prepared (`ENGINE = "config.postgresql"`, chosen by config/settings.py unless SAFAR_DB_PREPARED_STATEMENTS=0).

Bound on the client (Django's default), every query reaches PostgreSQL as text to parse and plan afresh. Bound on
the server (`server_side_binding`), psycopg prepares a query once a connection has run it `prepare_threshold`
times, and from then on PostgreSQL skips its parsing (and, where a generic plan is as good, its planning): one
request's server time fell by 3–18% on Safar's pages (README, "PostgreSQL").

PostgreSQL's wire protocol counts a statement's parameters in 16 bits, so a server-bound query holds at most
65,535 of them, and a long `IN` list, as a large referral import or a retention run over many cases builds, asks
more. Such a query is bound on the client instead, as Django's default would bind it: quoted by psycopg, sent as
text. A named cursor (`QuerySet.iterator()`) binds on the client always, as with Django's default: its DECLARE is
never prepared, and so it too takes any number of parameters.
"""

from django.db.backends.postgresql import base
from psycopg import ClientCursor

# The most parameters one server-bound statement may carry (a 16-bit count in the protocol's Bind message).
MAX_BOUND_PARAMETERS = 65_535


class Cursor(base.ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):
        if params is not None and len(params) > MAX_BOUND_PARAMETERS:
            query, params = ClientCursor(self.connection).mogrify(query, params), None
        return super().execute(query, params, prepare=prepare, binary=binary)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        params["cursor_factory"] = Cursor
        return params

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        # Named cursors (QuerySet.iterator()) bind on the client, as with Django's default binding: Django opens them
        # through this factory when server_side_binding is on.
        connection.server_cursor_factory = base.ServerSideCursor
        return connection
