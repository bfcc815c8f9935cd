"""Creating forms are done once: a double click, a request the browser retries or a page sent again makes one record.

A creating form carries a token drawn with its page (`SubmittedOnceMixin`). The first valid submission claims the
token together with a digest of what was sent (a `FormSubmission` row, unique on both), in the transaction that makes
the record, and stores where that record is shown; the same submission again finds the claim and is sent there with
a message, making nothing (`create_once`). On PostgreSQL a second request that arrives while the first is still
saving waits on the unique index and then finds its claim. A page changed and sent again (the back button, a second
exam typed over the first) sends other content: that is a new submission, and it is made.

The claims name no one (an address of ids and codes; what was sent only as a hash keyed with the site's secret)
and are kept a week, pruned as new ones are made: a resubmission comes within seconds.
"""

import datetime
import hashlib
import hmac
import re
import secrets

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.shortcuts import redirect
from django.utils import timezone

from movements.models import FormSubmission

FIELD = "submission"
KEPT = datetime.timedelta(days=7)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")
# Sent again under the same token, but not what was sent: what was typed counts, never the form's own bookkeeping.
_NOT_CONTENT = {"csrfmiddlewaretoken"}
MISSING = ("This page came without its one-time form code (it may be an old copy of the page): check what is below "
           "and save again.")
ALREADY = "That was already saved: the form was sent twice (a double click, or the page sent again). Nothing was added."


def new_token():
    return secrets.token_urlsafe(24)


class _TokenField(forms.CharField):
    """The hidden token. A form sent back with a missing or garbled one is drawn again with a fresh token, so that
    saving again works."""

    def bound_data(self, data, initial):
        return data if isinstance(data, str) and _TOKEN.fullmatch(data) else initial

    def clean(self, value):
        value = super().clean(value)
        if not _TOKEN.fullmatch(value):
            raise forms.ValidationError(MISSING, code="submission")
        return value


class SubmittedOnceMixin:
    """For a creating form: the hidden one-time token (`submission`), drawn anew each time the page is drawn."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[FIELD] = _TokenField(widget=forms.HiddenInput, required=True, max_length=64, initial=new_token,
                                         error_messages={"required": MISSING, "max_length": MISSING})


def _digest(request):
    """What was sent, as a keyed hash (HMAC with the site's secret key): the claim compares submissions and cannot
    be read back into what they held (an exam's outcome guessed from a short list of values)."""
    content = sorted((key, value) for key, values in request.POST.lists() if key not in _NOT_CONTENT
                     for value in values)
    text = repr((request.path, content)).encode("utf-8", "surrogatepass")
    return hmac.new(settings.SECRET_KEY.encode(), text, hashlib.sha256).hexdigest()


def create_once(request, form, make):
    """Make the record of this valid submission once: `make()` creates it and returns the address that shows it.

    Returns `(address, True)` when this request made it, `(address, False)` when an earlier request with the same
    token and content did (nothing is made). What `make()` raises rolls its claim back with it."""
    token, digest = form.cleaned_data[FIELD], _digest(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = FormSubmission.objects.create(token=token, digest=digest, user=request.user, address="")
        except IntegrityError:
            earlier = FormSubmission.objects.filter(token=token, digest=digest, user=request.user).first()
            if earlier is None:  # another user's page, sent by someone else: nothing of theirs is shown
                raise PermissionDenied("That form was drawn for another user.") from None
            return earlier.address, False
        claim.address = make()
        claim.save(update_fields=["address"])
        FormSubmission.objects.filter(at__lt=timezone.now() - KEPT).delete()
    return claim.address, True


def already_made(request, address):
    """The answer to a submission made before: where its record is, and a message saying so."""
    messages.info(request, ALREADY)
    return redirect(address)
