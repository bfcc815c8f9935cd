"""Short notes that other apps show beside each member on the case page (orientation status, say).

`movements` imports no other app; an app registers a provider from its AppConfig.ready(). A provider
takes the members shown and returns {person id: [note, ...]}; each note is (text, tone) with tone one of
"ok", "warn" or "" — plain words that every role allowed to see the case may read.
"""

_providers = []


def register(provider):
    if provider not in _providers:
        _providers.append(provider)
    return provider


def notes_for(people):
    notes = {p.pk: [] for p in people}
    for provider in _providers:
        for person_id, items in provider(people).items():
            notes.setdefault(person_id, []).extend(items)
    return notes
