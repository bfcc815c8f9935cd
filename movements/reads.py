"""Reads of personal data, told to whoever keeps the access log (`hooks.personal_data_read`).

Every view, download, export, API page and command that shows personal data calls `record` once, after it has
decided to answer (a refused request reads nothing). `movements` and the apps that plug into it call this function
and never know who listens: the access log is a plug-in like any other.
"""

from dataclasses import dataclass, field

from movements import hooks


class Kind:
    """What was read. Stable codes: the access log stores them and the data protection officer filters by them."""

    CASE_LIST = "case_list"
    DASHBOARD = "dashboard"
    CASE = "case"
    CASE_EDIT = "case_edit"
    DOCUMENTS = "documents"
    MEDICAL = "medical"
    MEDICAL_LIST = "medical_list"
    DEPARTURE = "departure"
    MANIFEST = "manifest"
    APD = "apd"
    SESSION = "session"
    WAITING = "orientation_waiting"
    ATTENDANCE_SHEET = "attendance_sheet"
    CERTIFICATE = "certificate"
    BOARDING = "boarding"
    EXPORT = "export"
    API = "api"
    SUBJECT_RECORD = "subject_record"
    ADMIN = "admin"
    IMPORT_REPORT = "import_report"
    ORIENTATION_DECLINED = "declined_orientation"

    LABELS = {
        CASE_LIST: "Case list (a page of it)",
        DASHBOARD: "Dashboard (the blocked cases it names)",
        CASE: "Case page",
        CASE_EDIT: "Case edit form",
        DOCUMENTS: "Travel documents of a member",
        MEDICAL: "Medical record of a person (or the form for a new exam)",
        MEDICAL_LIST: "Medical work list (a page of it)",
        DEPARTURE: "Departure page, arrival page or incident form (the families named)",
        MANIFEST: "Departure manifest (PDF)",
        APD: "Advance passenger data (CSV)",
        SESSION: "Orientation session or roll call page (its families)",
        WAITING: "People waiting for orientation (the suggestions)",
        ATTENDANCE_SHEET: "Orientation attendance sheet (PDF)",
        CERTIFICATE: "Orientation certificate (PDF)",
        BOARDING: "Boarding page of a departure",
        EXPORT: "UNHCR status export",
        API: "Status API (a page of it)",
        SUBJECT_RECORD: "A person's own record (subject request)",
        ADMIN: "Admin page (a record, or a page of a list)",
        IMPORT_REPORT: "Referral import's report or preview (the file's rows it quotes)",
        ORIENTATION_DECLINED: "Whether a person declines orientation (the page that records it)",
    }


@dataclass(frozen=True)
class Read:
    kind: str
    user: object = None  # the user who read, or None for a command
    actor: str = ""  # the user's name, or the command ("command: export_unhcr_status")
    address: str = ""
    case_numbers: tuple = ()
    person_id: int | None = None
    target: str = ""
    detail: dict = field(default_factory=dict)


def _printable(text):
    """What a request typed, as the log can keep it: a search for "\x00" is a read like any other, and PostgreSQL
    stores no NUL in text (control characters are drawn as their pictures, ␀, as the import's reports do)."""
    return "".join(chr(0x2400 + ord(c)) if ord(c) < 0x20 else c for c in text)


def record(kind, *, request=None, user=None, actor="", cases=(), person=None, target="", detail=None):
    """Tell the access log that personal data was read: once per request, with the case numbers it concerned.

    `cases` are Case objects or case numbers (a page's worth at most: a list or a printed manifest, never a whole
    export, which says what it selected in `detail` instead)."""
    if not hooks.personal_data_read.providers:
        return
    from movements.history import actor_label
    from movements.login_lockout import client_address

    address = ""
    if request is not None:
        user = request.user
        address = client_address(request)
    if user is not None and not user.is_authenticated:
        user = None
    if user is not None and not actor:
        actor = actor_label(user)
    numbers = tuple(sorted({c if isinstance(c, str) else c.case_number for c in cases}))
    read = Read(kind=kind, user=user, actor=actor, address=_printable(address), case_numbers=numbers,
                person_id=getattr(person, "pk", person), target=_printable(target)[:200],
                detail={_printable(str(k)): _printable(v) if isinstance(v, str) else v
                        for k, v in (detail or {}).items()})
    for provider in hooks.personal_data_read.providers:
        provider(read)
