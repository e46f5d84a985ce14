"""The secret-redaction evaluation corpus (tests/redaction_corpus/) and the metric code of
benches/redaction_report.py, checked with fake redactors (the real engine is not needed)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "redaction_corpus"
PLACEHOLDER = "[REDACTED:{}]"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


report = _load("redaction_report", ROOT / "benches" / "redaction_report.py")
build = _load("redaction_build_corpus", CORPUS / "build_corpus.py")
ITEMS = report.load_corpus(CORPUS)

UPSTREAM = {
    # owner/repo -> (licence, licence files that must be in LICENSES/)
    "praetorian-inc/noseyparker": (
        "Apache-2.0",
        ["praetorian-inc-noseyparker.LICENSE", "praetorian-inc-noseyparker.NOTICE"],
    ),
    "Skyscanner/whispers": ("Apache-2.0", ["Skyscanner-whispers.LICENSE"]),
    "Yelp/detect-secrets": ("Apache-2.0", ["Yelp-detect-secrets.LICENSE"]),
    "GitGuardian/ggshield": ("MIT", ["GitGuardian-ggshield.LICENSE"]),
    "sirwart/ripsecrets": ("MIT", ["sirwart-ripsecrets.LICENSE"]),
}
SOURCE_RE = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)@(?P<commit>[0-9a-f]{40}):(?P<path>\S+)")


def perfect(items: list[dict]):
    """A redactor that knows the labels: replaces every labelled secret (longest first)."""
    by_text = {i["text"]: i for i in items}

    def redact_text(text: str):
        out = text
        for s in sorted(by_text[text]["secrets"], key=len, reverse=True):
            out = out.replace(s, PLACEHOLDER.format("perfect"))
        return out, [("perfect", 1)]

    return redact_text


def item(id_: str, text: str, secrets: list[str], category: str = "env", kind: str = "k", **extra) -> dict:
    return {
        "id": id_,
        "category": category,
        "kind": kind,
        "text": text,
        "secrets": secrets,
        "source": "synthetic",
        **extra,
    }


# --- the corpus --------------------------------------------------------------------------------------------------


def test_items_are_well_formed():
    keys = {"id", "category", "kind", "text", "secrets", "source"}
    ids = Counter(i["id"] for i in ITEMS)
    assert not [k for k, n in ids.items() if n > 1]
    for i in ITEMS:
        assert keys <= set(i) <= keys | {"may_redact", "note"}, i["id"]
        assert i["category"] in report.CATEGORIES, i["id"]
        assert isinstance(i["text"], str) and i["text"].strip(), i["id"]
        assert i["kind"] and re.fullmatch(r"[a-z0-9.-]+", i["kind"]), i["id"]
        assert all(isinstance(s, str) and s for s in i["secrets"]), i["id"]
        assert (i["category"] == "benign") == (not i["secrets"]), i["id"]
        assert i["source"] == "synthetic" or SOURCE_RE.match(i["source"]), i["id"]


def test_every_labelled_secret_occurs_in_its_text():
    for i in ITEMS:
        for s in i["secrets"] + i.get("may_redact", []):
            assert s in i["text"], (i["id"], s)
        assert not set(i["secrets"]) & set(i.get("may_redact", [])), i["id"]


def test_a_perfect_redactor_scores_one():
    # catches the corpus's own mistakes: a secret that also occurs outside its labelled occurrences (e.g. a
    # 12-character piece of it elsewhere in the text) would be a miss no redactor could avoid
    r = report.evaluate(ITEMS, perfect(ITEMS))
    assert r["overall"]["recall"] == 1.0
    assert r["overall"]["precision"] == 1.0
    assert r["benign_false_redactions"] == [] and r["misses"] == [] and r["errors"] == []


def test_categories_and_sizes():
    secrets = Counter()
    synthetic = Counter()
    for i in ITEMS:
        secrets[i["category"]] += len(i["secrets"])
        if i["source"] == "synthetic":
            synthetic[i["category"]] += len(i["secrets"])
    with_secrets = [c for c in report.CATEGORIES if c != "benign" and secrets[c] >= 20]
    assert len(with_secrets) >= 8, secrets
    assert sum(secrets.values()) >= 400
    assert sum(1 for i in ITEMS if i["category"] == "benign") >= 250
    for c in with_secrets:
        assert synthetic[c] < secrets[c] / 2, (c, synthetic[c], secrets[c])


def test_sources_and_licences_are_recorded():
    sources_md = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    used = Counter()
    for i in ITEMS:
        m = SOURCE_RE.match(i["source"])
        if m:
            used[m["repo"]] += 1
            assert m["repo"] in UPSTREAM, (i["id"], m["repo"])
            assert m["commit"] in sources_md, (i["id"], m["commit"])
    assert set(used) == set(UPSTREAM)
    for repo, (licence, files) in UPSTREAM.items():
        assert repo in sources_md and licence in sources_md
        for f in files:
            text = (CORPUS / "LICENSES" / f).read_text(encoding="utf-8")
            if f.endswith(".NOTICE"):
                assert "Licensed under the Apache License" in text, f
            elif licence == "Apache-2.0":
                assert "Apache License" in text and "Version 2.0" in text, f
            else:
                assert "MIT License" in text or "Permission is hereby granted" in text, f
    assert "gitleaks" in sources_md  # why it is not a source


def test_generated_file_is_up_to_date():
    assert build.main(["--check"]) == 0, "run: python tests/redaction_corpus/build_corpus.py"


# --- alignment of the redacted output with the input ------------------------------------------------------------


@pytest.mark.parametrize(
    "original, output, spans",
    [
        ("no secret here", "no secret here", []),
        ("key=abc123", "key=[REDACTED:r1]", [(4, 10, "r1")]),
        ("abc123 tail", "[REDACTED:r1] tail", [(0, 6, "r1")]),
        ("a=111 b=222", "a=[REDACTED:x] b=[REDACTED:y]", [(2, 5, "x"), (8, 11, "y")]),
        ("xAAAyBBBz", "x[REDACTED:p][REDACTED:q]z", [(1, 2, "p"), (2, 8, "q")]),
        # the literal after the placeholder (a quote) also occurs inside the replaced text
        ('k: ab"cd"', 'k: [REDACTED:r]"', [(3, 8, "r")]),
        ("whole", "[REDACTED:all]", [(0, 5, "all")]),
    ],
)
def test_align(original, output, spans):
    assert report.align(original, output) == spans


def test_align_rejects_an_output_that_changed_other_text():
    assert report.align("key=abc", "KEY=[REDACTED:r]") is None
    assert report.align("key=abc", "key=abd") is None


def test_is_caught_is_strict():
    secret = "ghp_0123456789abcdefghijABCDEFGHIJ0123456"
    assert report.is_caught(secret, "token=[REDACTED:github-pat]")
    assert not report.is_caught(secret, f"token={secret}")
    assert not report.is_caught(secret, "token=[REDACTED:x]" + secret[-12:])  # a 12-char tail survives
    assert report.is_caught(secret, "token=[REDACTED:x]" + secret[-11:])
    assert not report.is_caught("hunter2", "pw=hunter2")  # short secrets must vanish entirely
    assert report.is_caught("hunter2", "pw=hunter[REDACTED:x]")


# --- the metrics, with fake redactors -----------------------------------------------------------------------------


def fake_regex(pattern: str, rule: str = "fake"):
    rx = re.compile(pattern)

    def redact_text(text: str):
        out, n = rx.subn(PLACEHOLDER.format(rule), text)
        return out, [(rule, n)] if n else []

    return redact_text


CASES = [
    item(
        "e1",
        "A=ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nB=1\n",
        ["ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
        kind="github-pat",
    ),
    item("e2", "export PW=correct-horse-battery\n", ["correct-horse-battery"], kind="password-assignment"),
    item("u1", "postgres://u:p4ssw0rd-long@db/x\n", ["p4ssw0rd-long"], category="url", kind="url-credentials"),
    item("b1", "commit 0123456789abcdef0123456789abcdef01234567\n", [], category="benign", kind="git-commit-sha"),
    item(
        "j1",
        '{"client_id": "id-1234567890", "client_secret": "sec-0987654321"}',
        ["sec-0987654321"],
        category="json_config",
        kind="oauth",
        may_redact=["id-1234567890"],
    ),
]


def test_no_redaction_gives_zero_recall_and_no_spans():
    r = report.evaluate(CASES, lambda t: (t, []))
    assert r["overall"]["secrets"] == 4 and r["overall"]["caught"] == 0 and r["overall"]["recall"] == 0.0
    assert r["overall"]["spans"] == 0 and r["overall"]["precision"] is None
    assert [m["id"] for m in r["misses"]] == ["e1", "e2", "u1", "j1"]
    assert r["benign_false_redactions"] == []


def test_true_false_and_tolerated_spans():
    # redacts GitHub tokens, every 40-hex string (a false positive on the commit id), "id-" and "sec-" values
    r = report.evaluate(CASES, fake_regex(r"ghp_\w{36}|\b[0-9a-f]{40}\b|(?:id|sec)-\d{10}"))
    rows = {row["category"]: row for row in r["categories"]}
    assert rows["env"] == {
        "category": "env",
        "secrets": 2,
        "caught": 1,
        "recall": 0.5,
        "spans": 1,
        "false_spans": 0,
        "precision": 1.0,
    }
    assert rows["benign"]["spans"] == 1 and rows["benign"]["false_spans"] == 1 and rows["benign"]["precision"] == 0.0
    assert rows["json_config"]["caught"] == 1 and rows["json_config"]["spans"] == 1  # the client id span is tolerated
    ov = r["overall"]
    assert (ov["secrets"], ov["caught"], ov["spans"], ov["false_spans"], ov["tolerated_spans"]) == (4, 2, 3, 1, 1)
    assert ov["precision"] == pytest.approx(2 / 3)
    assert r["benign_false_redactions"] == [{"id": "b1", "kind": "git-commit-sha", "rules": ["fake"], "spans": 1}]
    assert {(m["id"], m["kind"]) for m in r["misses"]} == {("e2", "password-assignment"), ("u1", "url-credentials")}
    kinds = {k["kind"]: k for k in r["kinds"]}
    assert kinds["github-pat"]["recall"] == 1.0 and kinds["password-assignment"]["recall"] == 0.0


def test_half_redacted_secret_is_a_miss_but_its_span_is_true():
    r = report.evaluate(CASES[:1], fake_regex(r"ghp_a{10}"))
    assert r["overall"]["caught"] == 0
    assert r["overall"]["spans"] == 1 and r["overall"]["false_spans"] == 0


def test_false_span_in_an_item_with_secrets_is_listed():
    r = report.evaluate(CASES[:1], fake_regex(r"B=1", "equals"))
    assert r["false_spans_in_secret_items"] == [{"id": "e1", "rule": "equals", "replaced": "B=1"}]
    assert r["overall"]["precision"] == 0.0


def test_redactor_errors_and_bad_outputs_are_reported_not_raised():
    def broken(text: str):
        if "PW" in text:
            raise ValueError("boom")
        return text + "!", []

    r = report.evaluate(CASES, broken)
    errors = {e["id"]: e["error"] for e in r["errors"]}
    assert errors["e2"] == "ValueError: boom"
    assert "placeholders" in errors["e1"]
    assert r["overall"]["caught"] == 0
    text = report.format_report(r)
    assert "errors: 5 items" in text and "ValueError: boom\n    on e2" in text


def test_timing_is_reported():
    r = report.evaluate(CASES, lambda t: (t, []))
    assert r["time"]["total_s"] >= 0 and r["time"]["input_kib"] > 0 and r["time"]["ms_per_kib"] is not None


def test_format_report_has_table_lists_and_time():
    r = report.evaluate(CASES, fake_regex(r"ghp_\w{36}|\b[0-9a-f]{40}\b"))
    text = report.format_report(r)
    assert text.splitlines()[0].split("|")[0].strip() == "category"
    for needle in ("overall", "precision", "benign items with a redaction: 1", "b1", "misses: 3", "e2", "ms/KiB"):
        assert needle in text, needle


def test_main_without_engine_exits_2_with_one_line(monkeypatch, capsys):
    monkeypatch.setattr(report, "load_redactor", lambda: (None, "ModuleNotFoundError: No module named 'x'"))
    assert report.main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "redaction engine missing" in err


def test_main_with_an_engine_that_cannot_run_exits_2(monkeypatch, capsys):
    def cannot_run(text: str):
        raise ValueError("cannot read the built-in rules")

    monkeypatch.setattr(report, "load_redactor", lambda: (cannot_run, ""))
    assert report.main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "ValueError: cannot read the built-in rules" in err


def test_load_redactor_reports_why(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setitem(sys.modules, "nova_session.guard", None)  # makes the import fail
    fn, reason = report.load_redactor()
    assert fn is None
    assert reason.startswith(("ImportError", "ModuleNotFoundError")), reason


def test_main_with_a_fake_engine(monkeypatch, capsys, tmp_path):
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(i) + "\n" for i in CASES), encoding="utf-8")
    monkeypatch.setattr(report, "load_redactor", lambda: (fake_regex(r"ghp_\w{36}"), ""))
    assert report.main(["--json", "--corpus", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["overall"]["caught"] == 1 and data["items"] == 5
    assert report.main(["--corpus", str(tmp_path)]) == 0
    assert "overall" in capsys.readouterr().out
