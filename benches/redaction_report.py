"""Recall and precision of the secret redactor on the labelled corpus in ``tests/redaction_corpus/``.

Usage::

    python benches/redaction_report.py          # tables on stdout
    python benches/redaction_report.py --json   # the same report as one JSON object

The redactor is ``nova_session.guard.redact.redact_text(text) -> (redacted_text, [(rule_id, count), ...])``; it
replaces each secret by ``[REDACTED:<rule-id>]`` and leaves the rest of the text unchanged.  When it cannot be
imported, or raises on an empty string (it cannot run), the script prints one line on stderr and exits with
status 2; otherwise it always exits 0 (an item it raises on is listed under errors and counts as not redacted).

Corpus
------
Every ``*.jsonl`` file of the corpus folder holds one item per line: ``id``, ``category`` (where the text comes
from: env, shell, json_config, yaml_config, http, logs, source_code, url, private_key, or benign), ``kind`` (what
the secret is, e.g. github-pat), ``text``, ``secrets`` (exact substrings of ``text``; empty for benign items),
``source``, and optionally ``may_redact``: substrings that are not secrets but whose redaction is tolerated
(e.g. an OAuth client id next to its client secret).

Metrics
-------
caught
    A labelled secret ``s`` of an item is *caught* when no substring of ``s`` of length ``min(12, len(s))``
    occurs in the redacted text.  A partly redacted secret is a miss, and so is a secret with one occurrence
    redacted and another left in clear.
recall
    caught secrets / labelled secrets, per category, per kind and overall.
span
    One ``[REDACTED:...]`` placeholder of the output.  The text it replaced is recovered by aligning the output
    with the input: the literal pieces between placeholders must appear in the input in order, the first at the
    start and the last at the end; each placeholder stands for the (non-empty) input between them.
true / false / tolerated span
    A span is *true* when the text it replaced overlaps an occurrence of a labelled secret of the item;
    otherwise it is *tolerated* when it overlaps a ``may_redact`` string, and *false* in every other case.
    Every span of a benign item is false.
precision
    true spans / (true spans + false spans); tolerated spans count in neither.
benign false redactions
    Benign items with at least one span (target: none), with the rules that fired.
time
    Wall time of the ``redact_text`` calls over the whole corpus (``time.perf_counter``), in total and per KiB
    of input (UTF-8), after one untimed warm-up call on an empty string.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "tests" / "redaction_corpus"
CATEGORIES = (
    "env",
    "shell",
    "json_config",
    "yaml_config",
    "http",
    "logs",
    "source_code",
    "url",
    "private_key",
    "benign",
)
PLACEHOLDER = re.compile(r"\[REDACTED:([^\]\s]*)\]")
WINDOW = 12

Redactor = Callable[[str], "tuple[str, list[tuple[str, int]]]"]


def load_corpus(directory: Path = CORPUS_DIR) -> list[dict]:
    """All items of the ``*.jsonl`` files of ``directory``, in file then line order."""
    items = []
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    items.append(json.loads(line))
    return items


def is_caught(secret: str, output: str) -> bool:
    """No substring of ``secret`` of length ``min(12, len(secret))`` survives in ``output``."""
    w = min(WINDOW, len(secret))
    return not any(secret[i : i + w] in output for i in range(len(secret) - w + 1))


def align(original: str, output: str) -> list[tuple[int, int, str]] | None:
    """The spans ``(start, end, rule)`` of ``original`` replaced by the placeholders of ``output``.

    Returns ``None`` when ``output`` is not ``original`` with some substrings replaced by placeholders.
    """
    rules: list[str] = []
    literals: list[str] = []
    last = 0
    for m in PLACEHOLDER.finditer(output):
        literals.append(output[last : m.start()])
        rules.append(m.group(1))
        last = m.end()
    literals.append(output[last:])
    if not rules:
        return [] if output == original else None
    for min_gap in (1, 0):
        starts = _place(original, literals, min_gap)
        if starts is not None:
            return [(starts[i] + len(literals[i]), starts[i + 1], rules[i]) for i in range(len(rules))]
    return None


def _place(original: str, literals: list[str], min_gap: int) -> list[int] | None:
    """Start offsets of ``literals`` in ``original`` (first at 0, last ending at the end), or None."""
    n = len(literals)
    if not original.startswith(literals[0]):
        return None
    last_start = len(original) - len(literals[-1])
    if last_start < 0 or not original.endswith(literals[-1]):
        return None
    failed: set[tuple[int, int]] = set()

    def search(i: int, pos: int) -> list[int] | None:
        # literal i must start at or after pos
        if i == n - 1:
            return [last_start] if last_start >= pos else None
        if (i, pos) in failed:
            return None
        q = original.find(literals[i], pos)
        while q != -1 and q <= last_start:
            rest = search(i + 1, q + len(literals[i]) + min_gap)
            if rest is not None:
                return [q, *rest]
            q = original.find(literals[i], q + 1)
        failed.add((i, pos))
        return None

    rest = search(1, len(literals[0]) + min_gap) if n > 1 else None
    return None if rest is None else [0, *rest]


def _occurrences(text: str, needles: Iterable[str]) -> list[tuple[int, int]]:
    found = []
    for s in needles:
        i = text.find(s)
        while i != -1:
            found.append((i, i + len(s)))
            i = text.find(s, i + 1)
    return found


def _overlaps(a: int, b: int, ranges: list[tuple[int, int]]) -> bool:
    return any(a < e and s < b for s, e in ranges)


def _preview(s: str, n: int = 10) -> str:
    flat = s.replace("\n", "\\n")
    return flat if len(flat) <= n + 2 else f"{flat[:n]}…({len(s)} chars)"


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def evaluate(items: list[dict], redact_text: Redactor) -> dict:
    """Run ``redact_text`` on every item and compute the report (a JSON-serialisable dict)."""
    rows: dict[str, dict[str, int]] = {
        c: {"secrets": 0, "caught": 0, "true_spans": 0, "false_spans": 0} for c in CATEGORIES
    }
    kinds: dict[str, dict[str, int]] = {}
    misses: list[dict] = []
    benign_fp: list[dict] = []
    false_spans: list[dict] = []
    errors: list[dict] = []
    tolerated = 0
    elapsed = 0.0
    nbytes = 0
    try:  # one warm-up call, so that lazy set-up (e.g. compiling the rules) is not charged to the first item
        redact_text("")
    except Exception:
        pass
    for item in items:
        text, category = item["text"], item["category"]
        row = rows.setdefault(category, {"secrets": 0, "caught": 0, "true_spans": 0, "false_spans": 0})
        nbytes += len(text.encode("utf-8"))
        t0 = time.perf_counter()
        try:
            output, _counts = redact_text(text)
        except Exception as exc:  # the report goes on: an item the redactor fails on redacts nothing
            elapsed += time.perf_counter() - t0
            errors.append({"id": item["id"], "error": f"{type(exc).__name__}: {exc}"})
            output = text
        else:
            elapsed += time.perf_counter() - t0
        secrets = item["secrets"]
        kind = kinds.setdefault(item["kind"], {"secrets": 0, "caught": 0})
        for s in secrets:
            row["secrets"] += 1
            kind["secrets"] += 1
            if is_caught(s, output):
                row["caught"] += 1
                kind["caught"] += 1
            else:
                misses.append({"id": item["id"], "category": category, "kind": item["kind"], "secret": _preview(s, 16)})
        spans = align(text, output)
        if spans is None:
            errors.append({"id": item["id"], "error": "output is not the input with placeholders substituted"})
            spans = [(0, 0, m.group(1)) for m in PLACEHOLDER.finditer(output)]
        secret_ranges = _occurrences(text, secrets)
        may_ranges = _occurrences(text, item.get("may_redact", []))
        fired: list[str] = []
        for a, b, rule in spans:
            if secrets and _overlaps(a, b, secret_ranges):
                row["true_spans"] += 1
            elif _overlaps(a, b, may_ranges):
                tolerated += 1
            else:
                row["false_spans"] += 1
                fired.append(rule)
                if category != "benign":
                    false_spans.append({"id": item["id"], "rule": rule, "replaced": _preview(text[a:b], 24)})
        if category == "benign" and fired:
            benign_fp.append({"id": item["id"], "kind": item["kind"], "rules": sorted(set(fired)), "spans": len(fired)})
    table = []
    for c in [*CATEGORIES, *sorted(set(rows) - set(CATEGORIES))]:
        r = rows[c]
        spans_n = r["true_spans"] + r["false_spans"]
        table.append(
            {
                "category": c,
                "secrets": r["secrets"],
                "caught": r["caught"],
                "recall": _ratio(r["caught"], r["secrets"]),
                "spans": spans_n,
                "false_spans": r["false_spans"],
                "precision": _ratio(r["true_spans"], spans_n),
            }
        )
    tot = {k: sum(r[k] for r in rows.values()) for k in ("secrets", "caught", "true_spans", "false_spans")}
    tot_spans = tot["true_spans"] + tot["false_spans"]
    return {
        "items": len(items),
        "benign_items": sum(1 for i in items if i["category"] == "benign"),
        "categories": table,
        "overall": {
            "secrets": tot["secrets"],
            "caught": tot["caught"],
            "recall": _ratio(tot["caught"], tot["secrets"]),
            "spans": tot_spans,
            "false_spans": tot["false_spans"],
            "tolerated_spans": tolerated,
            "precision": _ratio(tot["true_spans"], tot_spans),
        },
        "kinds": [
            {"kind": k, **v, "recall": _ratio(v["caught"], v["secrets"])}
            for k, v in sorted(kinds.items())
            if v["secrets"]
        ],
        "benign_false_redactions": benign_fp,
        "false_spans_in_secret_items": false_spans,
        "misses": misses,
        "errors": errors,
        "time": {
            "total_s": elapsed,
            "input_kib": nbytes / 1024,
            "ms_per_kib": (elapsed * 1000 / (nbytes / 1024)) if nbytes else None,
        },
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def format_report(report: dict) -> str:
    out = []
    head = f"{'category':<12} | {'secrets':>7} | {'caught':>6} | {'recall':>7} | {'spans':>5} | {'false spans':>11} | {'precision':>9}"
    out.append(head)
    out.append("-" * len(head))
    for r in [*report["categories"], {"category": "overall", **report["overall"]}]:
        if r["category"] == "overall":
            out.append("-" * len(head))
        out.append(
            f"{r['category']:<12} | {r['secrets']:>7} | {r['caught']:>6} | {_pct(r['recall']):>7} | {r['spans']:>5} | "
            f"{r['false_spans']:>11} | {_pct(r['precision']):>9}"
        )
    ov = report["overall"]
    out.append(
        f"({report['items']} items, {report['benign_items']} benign; {ov['tolerated_spans']} tolerated spans not counted)"
    )
    t = report["time"]
    ms = "-" if t["ms_per_kib"] is None else f"{t['ms_per_kib']:.3f} ms/KiB"
    out.append(f"redaction time: {t['total_s'] * 1000:.1f} ms for {t['input_kib']:.1f} KiB ({ms})")
    out.append("")
    out.append("recall per kind:")
    for k in report["kinds"]:
        out.append(f"  {k['kind']:<32} {k['caught']:>4}/{k['secrets']:<4} {_pct(k['recall']):>7}")
    out.append("")
    fp = report["benign_false_redactions"]
    out.append(f"benign items with a redaction: {len(fp)} (target 0)")
    for b in fp:
        out.append(f"  {b['id']:<40} {b['kind']:<22} rules: {', '.join(b['rules'])}")
    fs = report["false_spans_in_secret_items"]
    out.append(f"false spans in items with secrets: {len(fs)}")
    for s in fs:
        out.append(f"  {s['id']:<40} {s['rule']:<28} replaced {s['replaced']!r}")
    out.append("")
    out.append(f"misses: {len(report['misses'])} (id, kind = the rule family expected to fire, secret)")
    for m in report["misses"]:
        out.append(f"  {m['id']:<40} {m['kind']:<32} {m['secret']}")
    if report["errors"]:
        by_error: dict[str, list[str]] = {}
        for e in report["errors"]:
            by_error.setdefault(e["error"], []).append(e["id"])
        out.append("")
        out.append(f"errors: {len(report['errors'])} items")
        for error, ids in by_error.items():
            more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
            out.append(f"  {error}\n    on {', '.join(ids[:5])}{more}")
    return "\n".join(out)


def load_redactor() -> tuple[Redactor | None, str]:
    """``(nova_session.guard.redact.redact_text, "")``, or ``(None, reason)`` when the engine is not there."""
    try:
        try:
            from nova_session.guard import redact
        except ImportError:
            sys.path.insert(0, str(ROOT / "python"))
            from nova_session.guard import redact
    except Exception as exc:  # any import failure means: no engine to measure
        return None, f"{type(exc).__name__}: {exc}"
    fn = getattr(redact, "redact_text", None)
    if not callable(fn):
        return None, "nova_session.guard.redact has no redact_text()"
    return fn, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Recall and precision of nova_session's secret redaction on the labelled corpus."
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--corpus", type=Path, default=CORPUS_DIR, help="folder of *.jsonl corpus files (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    redact_text, reason = load_redactor()
    if redact_text is not None:
        try:
            redact_text("")
        except Exception as exc:  # the engine is there but cannot run (e.g. its rules are missing)
            redact_text, reason = None, f"{type(exc).__name__}: {exc}"
    if redact_text is None:
        print(f"redaction_report: redaction engine missing or unusable ({reason})".replace("\n", " "), file=sys.stderr)
        return 2
    report = evaluate(load_corpus(args.corpus), redact_text)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
