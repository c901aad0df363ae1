"""The message catalogues: find every message the reports show, keep both languages' catalogues complete.

``python -m analysis.report.messages update`` finds every message (see
:func:`extract`) and writes both catalogues (:func:`analysis.i18n.catalogue_path`):
English with each message as its own translation, Chinese keeping every
translation it has and adding each new message untranslated (a message no
longer used is kept as obsolete, ``#~``, for a translator to reuse).
``python -m analysis.report.messages check`` lists what is missing (and exits
1 when anything is): a message without its translation in either language,
or a translation whose ``{placeholders}`` differ from the English message's
(it would fail, or drop a number, when the sentence is formatted).
Translations may also wait in ``part-*.json`` files (English -> translation)
beside a catalogue, for several translators at once: they are used as they
are, and ``update`` folds them into the catalogue and removes them.

Where messages are found:

* the package's Python files: the text of each ``_("...")`` and ``N_("...")``;
* the notebooks' code cells: the same, and the template of each ``say("...")``
  (:func:`analysis.report.notebook.sentence` translates it);
* the notebooks' Markdown cells: each cell's whole text (the build translates
  it, :func:`translate_notebook`);
* the display catalogue: every display name, header and unit of
  :mod:`analysis.report.display` (:func:`analysis.report.display.catalogue_messages`).
"""

from __future__ import annotations

import datetime
import io
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from analysis import i18n

__all__ = ["ROOT", "extract", "markdown_message", "translate_notebook", "problems", "shadowing", "update", "main"]

ROOT = Path(__file__).resolve().parents[2]
_PACKAGE = ROOT / "analysis"
_NOTEBOOKS = ROOT / "notebooks"
_PYTHON_KEYWORDS = {"_": None, "N_": None}
_NOTEBOOK_KEYWORDS = {"_": None, "N_": None, "say": None}
_FIXED_DATE = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)  # no date churn in the catalogues
_FIELD = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")


def _python_messages(source: str, keywords: dict, where: str, found: dict[str, set[str]]) -> None:
    from babel.messages.extract import extract_python

    for _lineno, _func, message, _comments in extract_python(
        io.BytesIO(source.encode("utf-8")), keywords, [], {"encoding": "utf-8"}
    ):
        text = message[0] if isinstance(message, tuple) else message
        if isinstance(text, str) and text.strip():
            found.setdefault(text, set()).add(where)


def markdown_message(source: str) -> str:
    """The catalogue key of a Markdown cell: its text with surrounding blank space removed."""
    return source.strip()


def extract(package: Path = _PACKAGE, notebooks: Path | None = _NOTEBOOKS) -> dict[str, set[str]]:
    """Every message the reports can show -> the files it comes from (relative to the project)."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(package.parent).as_posix()
        _python_messages(path.read_text(encoding="utf-8"), _PYTHON_KEYWORDS, where, found)
    if notebooks is not None:
        for path in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
            where = path.relative_to(notebooks.parent).as_posix()
            nb = json.loads(path.read_text(encoding="utf-8"))
            for cell in nb["cells"]:
                source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                if cell["cell_type"] == "markdown" and markdown_message(source):
                    found.setdefault(markdown_message(source), set()).add(where)
                elif cell["cell_type"] == "code":
                    _python_messages(source, _NOTEBOOK_KEYWORDS, where, found)
    from analysis.report import display

    for text in display.catalogue_messages():
        found.setdefault(text, set()).add("analysis/report/display.py")
    return found


def translate_notebook(nb, lang: str) -> None:
    """Translate ``nb``'s Markdown cells (a notebook node, changed in place) into ``lang``.

    A cell whose text is not in the catalogue stays as it is (``problems``
    reports it). The code cells translate their own text when they run.
    """
    i18n.check_language(lang)
    if lang == i18n.DEFAULT:
        return
    table = i18n.catalogue(lang)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            key = markdown_message(cell.source)
            if key in table:
                cell.source = table[key]


def _fields(text: str) -> list[str]:
    return sorted(_FIELD.findall(text))


def _read(lang: str):
    from babel.messages.pofile import read_po

    path = i18n.catalogue_path(lang)
    if not path.exists():
        return None
    with path.open("rb") as f:
        return read_po(f, locale=i18n._LOCALES[lang], domain=i18n.DOMAIN)


#: A call of the bare name ``_`` as it may be written (``_(``, ``_ (``); not ``x._(`` or ``a_(``.
_CALLS_UNDERSCORE = re.compile(r"(?<![\w.])_\s*\(")


def _shadows(source: str) -> list[int]:
    """Lines of ``source`` that bind the name ``_`` where ``_(...)`` is called too (the module, or a function).

    Such a binding (``for _, row in ...``) would replace the translation function, in a notebook for
    every later cell, in a function for the whole function.
    """
    import ast

    if not _CALLS_UNDERSCORE.search(source):  # nothing translates here (most of the package): no need to parse it
        return []
    # IPython's magics and shell lines (%time, !ls) are not Python: read as a no-op, line numbers kept
    source = re.sub(r"(?m)^(\s*)[%!].*$", r"\1pass", source)
    try:
        tree = ast.parse(source)
    except SyntaxError:  # code that does not compile fails where it runs; nothing to say about `_` here
        return []
    lines: list[int] = []
    scopes: list[ast.AST] = [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))),
    ]

    def own(scope: ast.AST) -> list[ast.AST]:  # the scope's nodes, not those of functions defined in it
        nodes, todo = [], list(ast.iter_child_nodes(scope))
        while todo:
            node = todo.pop()
            nodes.append(node)
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                todo.extend(ast.iter_child_nodes(node))
        return nodes

    for scope in scopes:
        inner = own(scope)
        calls = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_" for n in inner)
        if calls:
            lines.extend(
                n.lineno for n in inner if isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store)
            )
    return sorted(set(lines))


def shadowing(package: Path = _PACKAGE, notebooks: Path | None = _NOTEBOOKS) -> list[str]:
    """Where ``_`` is bound in a file (a notebook: across its cells) that translates with ``_(...)``."""
    out: list[str] = []
    for path in sorted(package.rglob("*.py")):
        for line in _shadows(path.read_text(encoding="utf-8")):
            out.append(f"{path.relative_to(package.parent).as_posix()}:{line}: binds _, the translation function")
    if notebooks is not None:
        for path in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
            nb = json.loads(path.read_text(encoding="utf-8"))
            code = [
                ("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
                for c in nb["cells"]
                if c["cell_type"] == "code"
            ]
            for i, source in enumerate(code, 1):
                if _shadows(source + "\n_('')"):
                    out.append(
                        f"{path.relative_to(notebooks.parent).as_posix()}: code cell {i} binds _, "
                        "the translation function"
                    )
    return out


def _strings(messages) -> dict[str, str]:
    """English -> translation of catalogue entries (single messages with a text; not the header, not fuzzy)."""
    return {
        m.id: m.string
        for m in messages
        if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string and not m.fuzzy
    }


def problems(found: dict[str, set[str]] | None = None) -> list[str]:
    """What keeps the catalogues from being complete, one line each (empty when they are)."""
    found = extract() if found is None else found
    out: list[str] = shadowing()
    for lang, lang_name in i18n.LANGUAGES.items():
        po = _read(lang)
        if po is None:
            out.append(f"{i18n.catalogue_path(lang)}: missing (run: python -m analysis.report.messages update)")
            continue
        have = {**_strings(po), **i18n._fragments(lang)}
        for text in sorted(found):
            where = ", ".join(sorted(found[text]))
            string = have.get(text)
            if not string:
                out.append(f"{lang_name} ({lang}): no translation of {text!r} (from {where})")
            elif _fields(string) != _fields(text):
                out.append(
                    f"{lang_name} ({lang}): the translation of {text!r} has placeholders {_fields(string)}, "
                    f"the English has {_fields(text)} (from {where})"
                )
    return out


def update(found: dict[str, set[str]] | None = None) -> dict[str, int]:
    """Write both catalogues for ``found`` (default: :func:`extract`); returns untranslated messages per language."""
    from babel.messages.catalog import Catalog, Message
    from babel.messages.pofile import write_po

    found = extract() if found is None else found
    untranslated: dict[str, int] = {}
    for lang, lang_name in i18n.LANGUAGES.items():
        old = _read(lang)
        have = {**_strings(old), **_strings(old.obsolete.values())} if old is not None else {}
        have.update(i18n._fragments(lang))
        cat = Catalog(
            locale=i18n._LOCALES[lang],
            domain=i18n.DOMAIN,
            project="analysis",
            header_comment=f"# Messages of the collections channel reports in {lang_name}.\n"
            "# Written by python -m analysis.report.messages update: edit the translations (msgstr) only.",
            charset="utf-8",
            creation_date=_FIXED_DATE,
            revision_date=_FIXED_DATE,
        )
        for text in sorted(found):
            string = text if lang == i18n.DEFAULT else have.get(text, "")
            where = [(w, None) for w in sorted(found[text])]  # files only: line numbers would churn the catalogues
            cat.add(text, string, locations=where)  # pyright: ignore[reportArgumentType]  # Babel writes a location without a line number as the file alone
        if lang != i18n.DEFAULT:
            for text, string in sorted(have.items()):
                if text not in found and string:
                    cat.obsolete[text] = Message(text, string)
        path = i18n.catalogue_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        write_po(buf, cat, width=0, omit_header=False, include_lineno=False, sort_output=True)
        path.write_bytes(buf.getvalue())
        for part in path.parent.glob("part-*.json"):  # folded in above
            part.unlink()
        untranslated[lang] = sum(1 for text in found if not (text if lang == i18n.DEFAULT else have.get(text)))
    i18n.catalogue.cache_clear()
    return untranslated


def main(argv: Iterable[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    only = args[2:] if args[:2] == ["check", "--only"] else None
    if args not in (["update"], ["check"]) and not only:
        print("usage: python -m analysis.report.messages {update | check [--only FILE...]}", file=sys.stderr)
        return 2
    found = extract()
    if only:  # the messages of these files (paths relative to the project) only
        args = ["check"]
        found = {k: v for k, v in found.items() if v & set(only)}
    if args == ["update"]:
        counts = update(found)
        print(f"{len(found)} messages; untranslated: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        return 0
    found_problems = problems(found)
    for line in found_problems:
        print(line)
    print(f"{len(found)} messages; {len(found_problems)} problems")
    return 1 if found_problems else 0


if __name__ == "__main__":
    sys.exit(main())
