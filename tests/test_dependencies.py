"""The dependency direction (DESIGN.md): orientation, travel and exchange import movements; movements imports
none of them and names none of them — not in an import, a URL name, a permission, a template include — so each
plug-in can be taken out without touching the core. They plug in through `movements/hooks.py`."""

import ast
import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ("orientation", "travel", "exchange")
PLUGIN_WORD = "|".join(PLUGINS)


def core_python_files():
    return sorted((ROOT / "movements").rglob("*.py"))


def core_templates():
    return sorted((ROOT / "templates" / "movements").rglob("*.html"))


def plugin_url_names():
    """Every URL name the plug-ins declare (read from the URL configuration, not guessed)."""
    names = set()

    def walk(patterns, inside_plugin):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                module = getattr(pattern.urlconf_module, "__name__", "")
                walk(pattern.url_patterns, inside_plugin or module.split(".")[0] in PLUGINS)
            elif isinstance(pattern, URLPattern) and inside_plugin and pattern.name:
                names.add(pattern.name)

    walk(get_resolver().url_patterns, False)
    return names


def imports_of(source):
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__", "get_model", "get_app_config") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(first.value)
    return found


PERMISSION = re.compile(rf"""["'](?:{PLUGIN_WORD})\.[a-z_]+["']|perms\.(?:{PLUGIN_WORD})\b""")
INCLUDE = re.compile(rf"""{{%\s*(?:include|extends)\s+["'](?:{PLUGIN_WORD})/""")


def url_names_in(text):
    return set(re.findall(r"""(?:reverse|redirect|reverse_lazy)\(\s*["']([\w:-]+)["']""", text)) | \
        set(re.findall(r"""{%\s*url\s+["']([\w:-]+)["']""", text))


def offences(path, text, plugin_urls):
    found = []
    if path.suffix == ".py":
        for module in imports_of(text):
            if module.split(".")[0] in PLUGINS:
                found.append(f"imports {module}")
    for match in PERMISSION.findall(text):
        found.append(f"names the permission {match}")
    for match in INCLUDE.findall(text):
        found.append(f"includes a plug-in template: {match}")
    for name in url_names_in(text) & plugin_urls:
        found.append(f"names the plug-in URL {name!r}")
    return found


def test_movements_neither_imports_nor_names_a_plugin():
    plugin_urls = plugin_url_names()
    assert {"departure_board", "departure_detail", "orientation_sessions"} <= plugin_urls  # the scan sees them
    problems = []
    for path in core_python_files() + core_templates():
        for offence in offences(path, path.read_text(encoding="utf-8"), plugin_urls):
            problems.append(f"{path.relative_to(ROOT)}: {offence}")
    assert problems == []


@pytest.mark.parametrize("snippet, suffix", [
    ("from travel.models import Departure\n", ".py"),
    ("import orientation.services\n", ".py"),
    ("x = apps.get_model('travel', 'Departure')\n", ".py"),
    ("importlib.import_module('exchange.api')\n", ".py"),
    ("if user.has_perm('travel.book_case'): pass\n", ".py"),
    ("return redirect('departure_board')\n", ".py"),
    ("{% url 'departure_detail' code %}", ".html"),
    ("{% if perms.travel.view_departure %}x{% endif %}", ".html"),
    ('{% include "travel/case_panel.html" %}', ".html"),
])
def test_the_scan_catches_each_kind_of_reference(snippet, suffix):
    assert offences(Path(f"example{suffix}"), snippet, plugin_url_names())


def test_the_scan_leaves_plain_words_alone():
    text = '"""Travel documents, orientation completed, travel dates."""\nlabel = "travel date"\n'
    assert offences(Path("example.py"), text, plugin_url_names()) == []
