"""XSS on the published site: payloads in every string field, the formula box and the URL.

One build, one browser. Each payload of the corpus becomes a performance record and an accuracy
record whose every free-text string (names, ids, url, license, prompts, provenance, config keys
and values, eval task, metric, per-request response texts...) is that payload. Fields that are
file names (raw_data.file) or fixed vocabularies (kind, energy source, ...) are refused by the
schema instead, which is asserted too. Every page of the built site is then opened in headless
Chromium: no dialog may open, `window.__pwned` must stay undefined, no console or page error may
appear, and no element may carry an event-handler attribute or a `javascript:` link. The same
holds after typing payloads into the custom-formula box and loading boards with payloads in the
URL hash that sharing uses. The formula parser's accepted/rejected table is checked here too.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from leaderboard_site.build import build_site
from runner.errors import RecordError
from runner.records.load import check_raw_data, load_record, parse_record
from tests.support.reliability_support import pytest_command, report
from tests.support.site_support import copy_golden

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sb = pytest.importorskip("tests.site.test_browser", reason="headless Chromium not available")

COMMAND = pytest_command("tests/reliability/test_xss.py")
PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=2">',
    "'><svg onload=window.__pwned=3>",
    "javascript:window.__pwned=4",
    "<svg><script>window.__pwned=5</script></svg>",
    "</script><script>window.__pwned=6</script>",
    '<iframe srcdoc="<script>parent.__pwned=7</script>"></iframe>',
    '<a href="javascript:window.__pwned=8" id="pwn-link">x</a>',
    "<details open ontoggle=window.__pwned=9>",
    "<img src=x onerror=alert(10)>",
    '\\"};window.__pwned=11;//',
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned=12>",
    "JaVaScRiPt:alert(13)",
    "data:text/html,<script>alert(14)</script>",
    "{{constructor.constructor('window.__pwned=15')()}}",
    "${window.__pwned=16}",
]
# Fields the schema fixes (Literal), hashes that must match, and the raw-data file name.
FIXED = {
    "schema_version",
    "kind",
    "params_source",
    "source",
    "energy_source",
    "peak_memory_kind",
    "file",
    "sha256",
}
PWNED = "window.__pwned"


def poison(value: Any, payload: str, key: str = "", free: bool = False) -> Any:
    """`value` with every free-text string replaced by `payload`, and a payload key added to
    every free-form mapping (the resolved config, library versions, sampling settings)."""
    if isinstance(value, dict):
        free = free or key in ("config", "library_versions", "sampling")
        out = {k: poison(v, payload, k, free) for k, v in value.items()}
        if free:
            out.setdefault(payload, payload)
        return out
    if isinstance(value, list):
        return [poison(v, payload, key, free) for v in value]
    if isinstance(value, str) and key not in FIXED:
        return payload
    return value


def rewrite_raw(raw: Path, payload: str, target: Path) -> dict[str, Any]:
    """Copy per-request rows with every string (response texts, prompt ids) poisoned."""
    rows = [json.loads(line) for line in raw.read_text().splitlines()]
    text = "".join(
        json.dumps(poison(row, payload), ensure_ascii=False, sort_keys=True) + "\n" for row in rows
    )
    target.write_text(text, encoding="utf-8")
    return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "rows": len(rows)}


def path_safe(value: str, fallback: str) -> str:
    """`value` where the filesystem allows it as one folder or file name, else `fallback`.

    Identity fields that place a record (model, task, hardware, revision, eval task, run id)
    must match its folder, so a payload can be tested there only when it can be a name.
    """
    ok = value not in ("", ".", "..") and "/" not in value and "\x00" not in value
    return value if ok and len(value.encode()) <= 200 else fallback


PLACING_FIELDS = {
    # model_revision does not place a performance record, but the accuracy record joined to it
    # must carry the same revision, and there it is a folder name.
    "performance": ("model_name", "task", "hardware_slug", "backend", "model_revision"),
    "accuracy": ("model_name", "eval_task", "model_revision"),
}


def poisoned_copy(source: Path, payload: str, number: int) -> tuple[dict, Path]:
    """A poisoned copy of the record `source` (placing fields kept path-safe); and its raw."""
    data = json.loads(source.read_text())
    poisoned = poison(data, payload)
    poisoned["run_id"] = path_safe(
        f"20261201T0000{number:02d}Z-{payload}", f"20261201T0000{number:02d}Z-x{number:02d}"
    )
    for key in PLACING_FIELDS[data["kind"]]:
        poisoned["identity"][key] = path_safe(poisoned["identity"][key], f"p{number:02d}")
    # A record without a configuration (schema 1) takes its precision from the dtype, which the
    # schema bounds to 40 characters: a longer payload there is refused, so the dtype keeps it
    # only where it fits (`test_schema_refuses_payloads_in_fixed_fields` covers refusals).
    model = poisoned.get("model", {})
    if "dtype" in model and len(str(model["dtype"])) > 40:
        model["dtype"] = data["model"]["dtype"]
    return poisoned, source.parent / data["raw_data"]["file"]


def plant(results: Path, record: dict, raw: Path, payload: str, number: int) -> Path:
    """Write `record` where its identity places it, with its raw data poisoned too."""
    from types import SimpleNamespace

    from runner.records.layout import expected_parts

    namespace = SimpleNamespace(
        kind=record["kind"], run_id=record["run_id"], identity=SimpleNamespace(**record["identity"])
    )
    parts = expected_parts(namespace)
    assert parts is not None
    folder = results.joinpath(*parts[:-1])
    folder.mkdir(parents=True, exist_ok=True)
    raw_name = f"x{number:02d}-{record['kind']}.requests.jsonl"
    record["raw_data"].update(
        file=raw_name, **rewrite_raw(raw, payload, folder / raw_name)
    )  # fmt: skip
    path = folder / parts[-1]
    path.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The golden results plus one poisoned performance + accuracy record per payload, built."""
    base = tmp_path_factory.mktemp("xss")
    results = copy_golden(base / "results")
    perf = sorted(results.glob("performance/nvidia-h100-80gb-hbm3/meta-llama*/chat/*/*.json"))[0]
    acc = sorted(results.glob("accuracy/meta-llama*/arc_challenge/*/*/*.json"))[0]
    fields = 0
    for number, payload in enumerate(PAYLOADS):
        record, perf_raw = poisoned_copy(perf, payload, number)
        if number % 3:
            # Task and hardware payloads make new boards: keep them on a third of the records.
            record["identity"]["task"] = "chat"
            record["identity"]["hardware_slug"] = "nvidia-h100-80gb-hbm3"
        plant(results, record, perf_raw, payload, number)
        accuracy, acc_raw = poisoned_copy(acc, payload, number)
        # Joined to the poisoned performance record: same model id and revision.
        accuracy["identity"].update(
            model_id=record["identity"]["model_id"],
            model_revision=record["identity"]["model_revision"],
        )
        accuracy["score"] = 0.5
        plant(results, accuracy, acc_raw, payload, number)
        fields += json.dumps(record).count(json.dumps(payload)) + json.dumps(accuracy).count(
            json.dumps(payload)
        )
    out = base / "_site"
    report_ = build_site(results, out, strict=False)
    assert report_.skipped == [], report_.skipped  # every poisoned record is a valid record
    return out, fields


def test_schema_refuses_payloads_in_fixed_fields(tmp_path: Path) -> None:
    """Where the schema does not allow free text, a payload is refused (one line, the field)."""
    source = sorted(copy_golden(tmp_path / "r").glob("performance/**/*.json"))[0]
    data = json.loads(source.read_text())
    refused = 0
    cases = [
        ("kind", lambda d: d.update(kind=PAYLOADS[0])),
        ("energy.source", lambda d: d["energy"].update(source=PAYLOADS[1])),
        ("model.params_source", lambda d: d["model"].update(params_source=PAYLOADS[2])),
        ("summary.peak_memory_kind", lambda d: d["summary"].update(peak_memory_kind=PAYLOADS[3])),
        ("unknown field", lambda d: d["model"].update({PAYLOADS[4]: 1})),
    ]
    for label, change in cases:
        copy = json.loads(json.dumps(data))
        change(copy)
        with pytest.raises(RecordError) as error:
            parse_record(source, json.dumps(copy))
        assert "\n" not in str(error.value), label
        refused += 1
    for name in ("../../../x.jsonl", "/etc/passwd", "<script>.jsonl"):
        copy = json.loads(json.dumps(data))
        copy["raw_data"]["file"] = name
        with pytest.raises(RecordError, match="raw data file"):
            check_raw_data(source, load_record(source).model_copy(
                update={"raw_data": load_record(source).raw_data.model_copy(update={"file": name})}
            ))  # fmt: skip
        refused += 1
    report(
        "xss",
        "payloads in fixed-vocabulary and file-name fields",
        tried=len(cases) + 3,
        executed=len(cases) + 3 - refused,
        tracebacks=0,
        command=COMMAND,
        note="kind, energy.source, params_source, peak_memory_kind, unknown field, raw_data.file",
    )


DOM_AUDIT = """() => {
    const bad = [];
    for (const el of document.querySelectorAll('*')) {
        for (const attr of el.attributes) {
            const name = attr.name.toLowerCase();
            const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
            if (name.startsWith('on')) bad.push(el.tagName + ' ' + name);
            if (['href', 'src', 'action', 'formaction', 'xlink:href', 'srcdoc'].includes(name)
                && (value.startsWith('javascript:') || value.startsWith('data:text/html')
                    || name === 'srcdoc')) bad.push(el.tagName + ' ' + name + '=' + attr.value);
        }
        if (['IFRAME', 'OBJECT', 'EMBED'].includes(el.tagName)) bad.push(el.tagName);
    }
    return bad;
}"""


def audit(watched, where: str, problems: list[str]) -> None:
    page = watched.page
    pwned = page.evaluate(f"typeof {PWNED} === 'undefined' ? null : String({PWNED})")
    if pwned is not None:
        problems.append(f"{where}: window.__pwned = {pwned}")
    problems.extend(f"{where}: {item}" for item in page.evaluate(DOM_AUDIT))


def test_no_payload_runs_on_any_page(hostile_site, browser) -> None:
    out, fields = hostile_site
    pages = sorted(out.rglob("*.html"))
    watched = sb.Watched(browser)
    problems: list[str] = []
    hovered = 0
    try:
        for path in pages:
            where = path.relative_to(out).as_posix()
            page = watched.open(path)
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            # Tooltips of the first marks of each chart render the poisoned names.
            for mark in page.query_selector_all("div.chart g.mark-symbol > path")[:3]:
                mark.hover(force=True)
                hovered += 1
            # Follow every in-page link that does not navigate away (javascript: would run).
            for link in page.query_selector_all("a[href]"):
                href = (link.get_attribute("href") or "").strip().lower()
                if href.startswith(("javascript:", "data:")):
                    problems.append(f"{where}: link {href[:60]}")
            page.wait_for_timeout(50)
            audit(watched, where, problems)
        # The model page's url link: a payload is shown as text, never as a link.
        model = next(p for p in (out / "models").glob("*.html") if "javascript" in p.read_text())
        page = watched.open(model)
        assert page.query_selector("a[href^='javascript' i]") is None
        problems += [f"dialog: {d}" for d in watched.dialogs]
        problems += [f"console: {e}" for e in watched.errors]
        problems += [f"network: {n}" for n in watched.network]
    finally:
        watched.close()
    report(
        "xss",
        "payloads in every string field of records, all pages",
        tried=len(PAYLOADS) * len(pages),
        executed=len(problems),
        command=COMMAND,
        note=f"{len(PAYLOADS)} payloads in {fields} record fields (performance + accuracy + "
        f"raw data); {len(pages)} pages opened in Chromium, {hovered} chart tooltips hovered",
    )
    assert problems == []


def board(out: Path) -> Path:
    return out / "boards" / "chat--nvidia-h100-80gb-hbm3.html"


def test_no_payload_runs_from_the_formula_box_or_the_url(hostile_site, browser) -> None:
    out, _ = hostile_site
    watched = sb.Watched(browser)
    problems: list[str] = []
    tried = 0
    try:
        page = watched.open(board(out))
        watched.open_tools()
        for payload in PAYLOADS:
            for name, formula in ((payload, "latency_s"), ("ok", payload), (payload, payload)):
                tried += 1
                page.fill("#formula-name", name)
                page.fill("#formula-text", formula)
                page.click("#formula-add")
                if not page.inner_text("#formula-error").strip():
                    problems.append(f"formula accepted: {name!r} = {formula!r}")
        audit(watched, "formula box", problems)
        from urllib.parse import quote

        for payload in PAYLOADS:
            for fragment in (
                f"c={quote(payload)}~higher~latency_s",
                f"c=ok~higher~{quote(payload)}",
                f"c=ok~{quote(payload)}~latency_s",
                f"q={quote(payload)}",
                f"sort={quote(payload)}.asc",
                f"x={quote(payload)}&y={quote(payload)}",
                f"deadline={quote(payload)}",
            ):
                tried += 1
                page = watched.open(board(out), "#" + fragment)
                audit(watched, f"#{fragment[:40]}", problems)
        # The query string is not read by the site; it must not matter either.
        page.goto(board(out).as_uri() + "?" + quote(PAYLOADS[0]) + "#" + quote(PAYLOADS[1]))
        watched.wait_for_charts()
        audit(watched, "query", problems)
        tried += 1
        problems += [f"dialog: {d}" for d in watched.dialogs]
        # Vega logs a warning when the explorer chart is redrawn in place on a hash change
        # (an empty extent while it swaps data): not script, and not an error.
        vega_warnings = [e for e in watched.errors if e.startswith("WARN ")]
        problems += [f"console: {e}" for e in watched.errors if e not in vega_warnings]
    finally:
        watched.close()
    report(
        "xss",
        "payloads in the formula box and the shared-view URL",
        tried=tried,
        executed=len(problems),
        command=COMMAND,
        note="name/formula/both in the box; c=, q=, sort=, x=/y=, deadline= in the hash; a query",
    )
    assert problems == []


ACCEPTED = [
    "latency_s * 2",
    "accuracy_avg / energy_per_response_j",
    "-(ttft_s + 1) / 2",
    "1e3 * tpot_s",
    ".5 + energy_per_token_j - 0.25",
    "((latency_s))",
    "throughput_tok_s / (energy_per_token_j * 1000)",
]
REJECTED = [
    ("alert(1)", "unknown column 'alert'"),
    ("Math.max(1, 2)", "unexpected character '.'"),
    ("latency_s ** 2", "unexpected '*'"),
    ("latency_s = 1", "unexpected character '='"),
    ("latency_s()", "unexpected '('"),
    ("[latency_s]", "unexpected character '['"),
    ("'x'", "unexpected character '''"),
    ('"x"', "unexpected character '\"'"),
    ("document.cookie", "unexpected character '.'"),
    ("this", "unknown column 'this'"),
    ("latency_s; alert(1)", "unexpected character ';'"),
    ("latency_s && 1", "unexpected character '&'"),
    ("latency_s ? 1 : 2", "unexpected character '?'"),
    ("1 +", "ends too early"),
    ("(1", "missing ')'"),
    ("1 2", "unexpected '2'"),
    ("0x1F", "unexpected 'x1F'"),
    ("", "empty"),
    ("latency_s" + " + latency_s" * 40, "longer than 300"),
    ("(" * 45 + "1" + ")" * 45, "nested too deeply"),
    ("-" * 45 + "1", "nested too deeply"),
    ("<script>", "unexpected character '<'"),
]


def test_formula_parser_accepts_arithmetic_only(hostile_site, browser) -> None:
    out, _ = hostile_site
    watched = sb.Watched(browser)
    wrong: list[str] = []
    try:
        page = watched.open(board(out))
        watched.open_tools()
        for number, formula in enumerate(ACCEPTED):
            page.fill("#formula-name", f"ok{number}")
            page.fill("#formula-text", formula)
            page.click("#formula-add")
            error = page.inner_text("#formula-error").strip()
            if error or not page.query_selector(f'#board-table th[data-key="ok{number}"]'):
                wrong.append(f"refused {formula!r}: {error}")
        headers = len(page.query_selector_all("#board-table thead th"))
        for formula, message in REJECTED:
            page.fill("#formula-name", "bad")
            page.fill("#formula-text", formula)
            page.click("#formula-add")
            shown = page.inner_text("#formula-error")
            if message not in shown:
                wrong.append(f"{formula[:30]!r}: expected {message!r}, shown {shown!r}")
            if len(page.query_selector_all("#board-table thead th")) != headers:
                wrong.append(f"{formula[:30]!r}: a column was added")
        audit(watched, "formula table", wrong)
        wrong += [f"console: {e}" for e in watched.errors] + watched.dialogs
    finally:
        watched.close()
    report(
        "formula",
        "accepted / rejected formula table",
        tried=len(ACCEPTED) + len(REJECTED),
        executed=len(wrong),
        command=COMMAND,
        note=f"{len(ACCEPTED)} arithmetic formulas accepted, {len(REJECTED)} others rejected "
        "with their message",
    )
    assert wrong == []


@pytest.fixture(scope="module")
def browser():
    with sb.sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(sb.CHROMIUM), args=sb.ARGS)
        yield instance
        instance.close()


def test_config_refuses_payloads_in_path_fields(tmp_path: Path) -> None:
    """model.name and task.name become folder names: a payload there is refused at config time,
    while display_name (text) accepts it and the site escapes it."""
    from runner.compose import compose_run_config, hydra_context
    from runner.errors import ConfigError

    refused = accepted = 0
    with hydra_context():
        for payload in PAYLOADS:
            for field in ("model.name", "task.name", "model.base_model"):
                value = "'" + payload.replace("\\", "\\\\").replace("'", "\\'") + "'"
                try:
                    compose_run_config(["model=tiny-random", f"{field}={value}"])
                except ConfigError as error:
                    refused += "\n" not in str(error)
                else:
                    accepted += 1
    report(
        "xss",
        "payloads in path-component config fields",
        tried=len(PAYLOADS) * 3,
        executed=accepted,
        command=COMMAND,
        note="model.name, task.name, model.base_model: refused at config time",
    )
    assert accepted == 0 and refused == len(PAYLOADS) * 3
    shutil.rmtree(tmp_path, ignore_errors=True)
