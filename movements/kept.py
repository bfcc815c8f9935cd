"""What someone typed into a small action form that was refused, kept for the page the refusal leads back to.

Such forms (an exception to a destination rule, a reason) post, and on a refusal redirect to the page they sit on
with a message: without this, that page drew them blank and the text had to be typed again. The values wait in the
session (server-side, the user's own) and are read once: the next drawing of that page takes them."""

KEY = "safar_kept_typing"
MAX_CHARS = 5000  # a field's worth: a forged post of megabytes is not kept


def keep(request, name, data, fields):
    """Keep `fields` of the posted `data` for the form called `name` (e.g. "exception:DEP-20261209-YYZ")."""
    kept = dict(request.session.get(KEY) or {})
    kept[name] = {field: str(data.get(field, ""))[:MAX_CHARS] for field in fields}
    request.session[KEY] = kept


def take(request, name):
    """The values kept for the form called `name`, once ({} when none): the page fills its form with them."""
    kept = dict(request.session.get(KEY) or {})
    values = kept.pop(name, None)
    if values is None:
        return {}
    request.session[KEY] = kept
    return values
