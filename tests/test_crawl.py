"""Every link a role is shown leads somewhere that role may go: the demo, walked link by link as each role.

Starting from each demo user's start page, every same-site link on every page reached is followed (the Django
admin too, for the administrator): a page answers 200, or redirects to one that does; none answers 403, 404 or
500. On PostgreSQL this also runs every page's queries as the server binds and prepares them.

Each of Safar's own pages reached also tells a screen reader what it is: a title, one `<h1>`, and a label for
every field (a `<label>` around it or naming its id, or an `aria-label`).
"""

import re
from collections import Counter, deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

# Links not followed: the static files, the API's browsable pages (their own tests), and the admin's history and
# delete pages of each object (Django's own code, many of them).
SKIPPED = re.compile(r"^/(static|api)/|^/admin/.*/(history|delete)/$|^/admin/logout/")
# Pages of one kind (the same path but for its numbers and codes, the same query parameters) visited at most this
# many times: the demo's 40 cases, 200 people and their documents would take minutes, and add few new links.
PER_KIND = 4
BUDGET = 400


def links(page, at):
    """The same-site addresses `page` (a Page) links to, read as from the address `at`."""
    for href in page.hrefs:
        url = urljoin(at, href)
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path.startswith("/") or SKIPPED.search(parts.path):
            continue
        yield parts.path + (f"?{parts.query}" if parts.query else "")


def kind(url):
    """Pages that differ only in their numbers and codes (a case number, a person's id) and in the values of their
    query string (page 2, page 3) are one kind."""
    parts = urlsplit(url)
    path = "/".join("#" if re.search(r"\d", segment) else segment for segment in parts.path.split("/"))
    names = sorted({pair.split("=")[0] for pair in parts.query.split("&") if pair})
    return path, tuple(names)


class Page(HTMLParser):
    """A page read once: its links, and what it offers a screen reader (its title, its `<h1>` headings, and whether
    each field has a name)."""

    UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}

    def __init__(self, html):
        super().__init__()
        self.hrefs, self.title, self.headings, self.fields, self.label_targets = [], "", 0, [], set()
        self._in_title, self._open_labels = False, 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)  # entities already decoded
        if tag == "a" and attributes.get("href"):
            self.hrefs.append(attributes["href"])
        elif tag == "title":
            self._in_title = True
        elif tag == "h1":
            self.headings += 1
        elif tag == "label":
            self._open_labels += 1
            self.label_targets.add(attributes.get("for"))
        elif tag in ("input", "select", "textarea") and attributes.get("type") not in self.UNLABELLED_TYPES:
            named = self._open_labels > 0 or bool(attributes.get("aria-label") or attributes.get("aria-labelledby"))
            self.fields.append((attributes.get("name"), attributes.get("id"), named))

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "label":
            self._open_labels = max(0, self._open_labels - 1)

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def problems(self):
        found = [] if self.title.strip() else ["no <title>"]
        if self.headings != 1:
            found.append(f"{self.headings} <h1> headings, not one")
        found += [f"the field {name!r} has no label" for name, id_, named in self.fields
                  if not named and (id_ is None or id_ not in self.label_targets)]
        return found


def walk(client, start):
    """How many pages were reached from `start` by links, and what failed: each link that led nowhere (with where it
    was seen), and each page that does not say what it is."""
    kinds, seen, queue, failures, visited = Counter(), set(), deque([(start, "(start)")]), [], 0
    while queue and visited < BUDGET:
        url, found_on = queue.popleft()
        if url in seen or kinds[kind(url)] >= PER_KIND:
            continue
        seen.add(url)
        kinds[kind(url)] += 1
        visited += 1
        response = client.get(url, follow=True)
        if response.status_code != 200:
            failures.append(f"{url} → {response.status_code} (linked from {found_on})")
            continue
        if "html" in response.get("Content-Type", ""):
            final = response.redirect_chain[-1][0] if response.redirect_chain else url
            page = Page(response.content.decode())
            queue.extend((link, url) for link in links(page, final))
            if not final.startswith("/admin/"):  # the admin's pages are Django's
                failures += [f"{final}: {problem}" for problem in page.problems()]
    return visited, failures


def test_every_link_each_role_is_shown_leads_to_a_page_it_may_see():
    call_command("seed_demo", verbosity=0)  # once: each role walks the same demo
    failures, reached = [], {}
    for username in ("ops", "medic", "trainer", "escort", "unhcr", "dpo", "admin"):
        client = Client()
        client.force_login(User.objects.get(username=username))

        reached[username], failed = walk(client, "/")

        failures += [f"{username}: {failure}" for failure in failed]
    assert failures == []
    # Each role's start page leads on (the data protection officer's work is a few pages, the others' many).
    assert min(reached.values()) >= 5 and reached["ops"] > 50 and reached["admin"] > 50, reached
