/* The interactive leaderboard table: sort, search, basic/all columns, latency deadline,
 * custom formula columns (a hand-written tokenizer + recursive-descent parser: no eval, no
 * Function), an explorer chart, and the view encoded in the URL hash so it can be shared.
 * Data comes from the inline <script type="application/json" id="lb-data"> (no fetch). */
(function () {
  "use strict";

  /* ---------- formulas ---------- */
  function FormulaError(message) {
    this.name = "FormulaError";
    this.message = message;
  }
  FormulaError.prototype = Object.create(Error.prototype);
  FormulaError.prototype.constructor = FormulaError;

  var MAX_FORMULA = 300;
  var MAX_DEPTH = 40;
  var NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;
  var NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

  function tokenize(source) {
    if (typeof source !== "string") throw new FormulaError("the formula must be text");
    if (source.length > MAX_FORMULA) throw new FormulaError("the formula is longer than " + MAX_FORMULA + " characters");
    var tokens = [];
    var i = 0;
    while (i < source.length) {
      var ch = source.charAt(i);
      if (ch === " " || ch === "\t" || ch === "\n") { i += 1; continue; }
      if ("+-*/()".indexOf(ch) >= 0) { tokens.push({ type: "op", value: ch, pos: i }); i += 1; continue; }
      var rest = source.slice(i);
      var match = NUMBER.exec(rest);
      if (match) { tokens.push({ type: "num", value: parseFloat(match[0]), pos: i }); i += match[0].length; continue; }
      match = NAME.exec(rest);
      if (match) { tokens.push({ type: "name", value: match[0], pos: i }); i += match[0].length; continue; }
      throw new FormulaError("unexpected character '" + ch + "' at position " + (i + 1));
    }
    return tokens;
  }

  /* Grammar: expr := term (('+'|'-') term)* ; term := unary (('*'|'/') unary)* ;
   * unary := ('-'|'+') unary | primary ; primary := number | column | '(' expr ')' */
  function parse(source, known) {
    var tokens = tokenize(source);
    var pos = 0;
    var depth = 0;
    if (!tokens.length) throw new FormulaError("the formula is empty");
    function peekOp(values) {
      var t = tokens[pos];
      return t && t.type === "op" && values.indexOf(t.value) >= 0 ? t.value : null;
    }
    function deeper() {
      depth += 1;
      if (depth > MAX_DEPTH) throw new FormulaError("the formula is nested too deeply");
    }
    function expr() {
      var node = term();
      var op;
      while ((op = peekOp(["+", "-"]))) { pos += 1; node = { op: op, left: node, right: term() }; }
      return node;
    }
    function term() {
      var node = unary();
      var op;
      while ((op = peekOp(["*", "/"]))) { pos += 1; node = { op: op, left: node, right: unary() }; }
      return node;
    }
    function unary() {
      var op = peekOp(["-", "+"]);
      if (op) {
        pos += 1;
        deeper();
        var arg = unary();
        depth -= 1;
        return op === "-" ? { op: "neg", arg: arg } : arg;
      }
      return primary();
    }
    function primary() {
      var t = tokens[pos];
      if (!t) throw new FormulaError("the formula ends too early");
      pos += 1;
      if (t.type === "num") return { num: t.value };
      if (t.type === "name") {
        if (!known.has(t.value)) throw new FormulaError("unknown column '" + t.value + "'");
        return { name: t.value };
      }
      if (t.value === "(") {
        deeper();
        var node = expr();
        var close = tokens[pos];
        if (!close || close.value !== ")") throw new FormulaError("missing ')' for the '(' at position " + (t.pos + 1));
        pos += 1;
        depth -= 1;
        return node;
      }
      throw new FormulaError("unexpected '" + t.value + "' at position " + (t.pos + 1));
    }
    var tree = expr();
    if (pos < tokens.length) {
      throw new FormulaError("unexpected '" + tokens[pos].value + "' at position " + (tokens[pos].pos + 1));
    }
    return tree;
  }

  /* Value of a parsed formula for a row; null when a value is missing, or on division by 0. */
  function evaluate(node, row) {
    if (Object.prototype.hasOwnProperty.call(node, "num")) return node.num;
    if (Object.prototype.hasOwnProperty.call(node, "name")) {
      var v = Object.prototype.hasOwnProperty.call(row, node.name) ? row[node.name] : null;
      return typeof v === "number" && isFinite(v) ? v : null;
    }
    if (node.op === "neg") {
      var a = evaluate(node.arg, row);
      return a === null ? null : -a;
    }
    var left = evaluate(node.left, row);
    var right = evaluate(node.right, row);
    if (left === null || right === null) return null;
    var out = null;
    if (node.op === "+") out = left + right;
    else if (node.op === "-") out = left - right;
    else if (node.op === "*") out = left * right;
    else if (node.op === "/") out = right === 0 ? null : left / right;
    return out === null || !isFinite(out) ? null : out;
  }

  /* ---------- Pareto front (same rule as leaderboard_site/pareto.py) ---------- */
  function paretoFront(points, xBetter, yBetter) {
    var sx = xBetter === "lower" ? 1 : -1;
    var sy = yBetter === "lower" ? 1 : -1;
    var usable = points.filter(function (p) {
      return typeof p.x === "number" && isFinite(p.x) && typeof p.y === "number" && isFinite(p.y);
    }).map(function (p, i) { return { x: sx * p.x, y: sy * p.y, i: i, key: p.key }; });
    usable.sort(function (a, b) { return a.x - b.x || a.y - b.y || a.i - b.i; });
    var front = new Set();
    var bestY = Infinity;
    var bestX = Infinity;
    usable.forEach(function (p) {
      if (p.y < bestY) { bestY = p.y; bestX = p.x; front.add(p.key); }
      else if (p.y === bestY && p.x === bestX) front.add(p.key);
    });
    return front;
  }

  function formatNumber(value, digits) {
    if (value === null || value === undefined || typeof value !== "number" || !isFinite(value)) return "not measured";
    if (value === 0) return "0";
    if (Number.isInteger(value) && Math.abs(value) >= 1) return value.toLocaleString("en-US");
    var magnitude = Math.floor(Math.log10(Math.abs(value)));
    var decimals = Math.max(0, Math.min(12, (digits || 3) - 1 - magnitude));
    return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  }

  /* Per model (and per source: a published source's rows are not mixed with measured ones),
   * the lowest-energy row whose latency (`key`, default the mean) meets the deadline (s).
   * Rows without energy rank after measured ones; ties go to the lower latency. */
  function deadlineKey(row) { return row.source === "published" ? row.model_name + "|published|" + row.source_id : row.model_name; }
  function applyDeadline(rows, deadline, key) {
    key = key || "latency_s";
    var best = new Map();
    rows.forEach(function (row) {
      if (typeof row[key] !== "number" || row[key] > deadline) return;
      var group = deadlineKey(row);
      var current = best.get(group);
      var energy = typeof row.energy_per_response_j === "number" ? row.energy_per_response_j : Infinity;
      if (!current) { best.set(group, row); return; }
      var currentEnergy = typeof current.energy_per_response_j === "number" ? current.energy_per_response_j : Infinity;
      if (energy < currentEnergy || (energy === currentEnergy && row[key] < current[key])) best.set(group, row);
    });
    return rows.filter(function (row) { return best.get(deadlineKey(row)) === row; });
  }

  /* Only the rows whose energy per response is at most `budget` (J); rows without energy are
   * left out too: nobody can tell whether they fit. */
  function applyBudget(rows, budget) {
    return rows.filter(function (row) {
      return typeof row.energy_per_response_j === "number" && row.energy_per_response_j <= budget;
    });
  }

  /* What an empty cell says: published rows lack what their source did not publish. */
  function missingText(row, col) {
    if (row.source === "published") return "not published";
    // A steady-state row has a batch cap, not a batch size.
    if (col.key === "batch_size" && typeof row.max_num_seqs === "number") return "cap " + row.max_num_seqs;
    return col.missing || "not measured";
  }

  /* A custom column's name: an identifier that is not a key of every JavaScript object
   * (`__proto__`, `constructor`, `toString`...), so it can never reach an object's prototype. */
  var IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
  function checkName(name) {
    if (!IDENT.test(name)) throw new FormulaError("the name must be letters, digits and _ (not starting with a digit)");
    if (name in Object.prototype || name === "__proto__" || name === "prototype" || /^__/.test(name)) {
      throw new FormulaError("'" + name + "' cannot be a column name (a reserved JavaScript name)");
    }
    return name;
  }

  /* The latency column a statistic selects: mean -> latency_s, p90 -> latency_p90_s. */
  var PCTS = ["mean", "p50", "p90", "p99"];
  function latencyKey(pct, base) {
    base = base || "latency";
    return pct === "mean" || PCTS.indexOf(pct) < 0 ? base + "_s" : base + "_" + pct + "_s";
  }

  function headerText(col) {
    if (col.title) return col.title;
    return col.unit && col.label.indexOf(col.unit) < 0 ? col.label + " (" + col.unit + ")" : col.label;
  }

  /* "1.23 ± 0.05 (n = 8)" parts of a value with a spread, or null. */
  function spreadText(row, key) {
    var sd = row[key + "_sd"];
    var n = row[key + "_n"];
    if (typeof sd !== "number" || !isFinite(sd)) return null;
    return "± " + formatNumber(sd, 2) + " (n = " + n + ")";
  }

  /* Vega-Lite axis with a title and SI tick labels (200, 1k, 2.5k), as the built charts. */
  var SI_LABELS = "abs(datum.value) >= 1000 ? format(datum.value, '.3~s') : format(datum.value, '.3~g')";
  function axis(title) { return { title: title, labelExpr: SI_LABELS, labelOverlap: true }; }
  var HIGHLIGHT_OPACITY = { condition: { test: "hl == null || datum.model_name == hl", value: 1 }, value: 0.15 };

  /* A chart title as lines of at most 40 characters (Vega draws a list as lines). */
  function wrapTitle(text) {
    var lines = [], line = "";
    String(text).split(" ").forEach(function (word) {
      if (line && (line + " " + word).length > 40) { lines.push(line); line = word; }
      else line = line ? line + " " + word : word;
    });
    if (line) lines.push(line);
    return lines.length > 1 ? lines : text;
  }

  /* Fill a <table> (thead + tbody) with text cells. */
  function fillTable(table, columns, rows) {
    if (!table) return;
    var thead = table.tHead, tbody = table.tBodies[0];
    thead.textContent = "";
    tbody.textContent = "";
    var tr = document.createElement("tr");
    columns.forEach(function (name) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = name;
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    rows.forEach(function (cells) {
      var line = document.createElement("tr");
      cells.forEach(function (cell) {
        var td = document.createElement("td");
        td.textContent = cell === null || cell === undefined ? "" : String(cell);
        line.appendChild(td);
      });
      tbody.appendChild(line);
    });
  }

  window.LB = {
    tokenize: tokenize, parse: parse, evaluate: evaluate, FormulaError: FormulaError,
    paretoFront: paretoFront, formatNumber: formatNumber, applyDeadline: applyDeadline,
    applyBudget: applyBudget, missingText: missingText, checkName: checkName,
    latencyKey: latencyKey, headerText: headerText, axis: axis, fillTable: fillTable, wrapTitle: wrapTitle,
    HIGHLIGHT_OPACITY: HIGHLIGHT_OPACITY,
  };

  /* ---------- the board page ---------- */
  var holder = document.getElementById("lb-data");
  if (!holder) return;
  var DATA = JSON.parse(holder.textContent);
  var COLUMNS = DATA.columns;
  var BASE_ROWS = DATA.rows;
  var STYLES = DATA.styles || {};
  var byKey = new Map(COLUMNS.map(function (c) { return [c.key, c]; }));
  var DERIVED = new Set(DATA.derived_keys || []);  // hover an empty derived cell: why
  var numericKeys = COLUMNS.filter(function (c) { return c.kind === "number"; }).map(function (c) { return c.key; });

  var PUBLISHED_ROWS = DATA.published_rows || 0;  // published rows on this board (0: no control)
  var hasEnergy = BASE_ROWS.some(function (r) { return typeof r.energy_per_response_j === "number"; });
  var hasAccuracy = BASE_ROWS.some(function (r) { return typeof r.accuracy_avg === "number"; });
  // The explorer starts on axes no Pareto chart shows: model size against energy (or time) per
  // token; where the rows lack those (a source that publishes neither), the first the rows have.
  function firstWithValues(keys, not) {
    return keys.find(function (key) {
      return key !== not && BASE_ROWS.some(function (r) { return typeof r[key] === "number" && isFinite(r[key]); });
    }) || keys[0];
  }
  var DEFAULT_X = firstWithValues(["params_b", "latency_s", "throughput_tok_s"]);
  var DEFAULT_Y = firstWithValues(["energy_per_token_j", "tpot_s", "energy_per_response_j", "latency_s", "throughput_tok_s", "response_tokens"], DEFAULT_X);
  var DEFAULT_SORT = hasEnergy ? "energy_per_response_j" : "latency_s";
  var state = {
    q: "", all: false, pub: true, gpus: "", sortKey: DEFAULT_SORT, sortDir: "asc", spread: false, pct: "mean",
    deadlineOn: false, deadline: null, budgetOn: false, budget: null, custom: [], x: DEFAULT_X, y: DEFAULT_Y,
  };
  var compiled = [];  // [{name, better, formula, tree}]
  var chosen = [];    // model names ticked for comparison (2 to 4)
  void hasAccuracy;

  function $(id) { return document.getElementById(id); }

  /* A log-scale slider over the positive values of one key. */
  function LogSlider(values) {
    var positive = values.filter(function (v) { return typeof v === "number" && v > 0 && isFinite(v); });
    this.min = positive.length ? Math.min.apply(null, positive) : 0.001;
    this.max = positive.length ? Math.max.apply(null, positive) : 1;
    if (this.max <= this.min) this.max = this.min * 1.01 + 1e-9;
  }
  LogSlider.prototype.value = function (v) { return this.min * Math.pow(this.max / this.min, v / 1000); };
  LogSlider.prototype.position = function (s) {
    var v = 1000 * Math.log(s / this.min) / Math.log(this.max / this.min);
    return Math.max(0, Math.min(1000, Math.round(v)));
  };
  function latencySlider() { var key = latencyKey(state.pct); return new LogSlider(BASE_ROWS.map(function (r) { return r[key]; })); }
  var budgetSlider = new LogSlider(BASE_ROWS.map(function (r) { return r.energy_per_response_j; }));

  function knownSet(upTo) {
    var known = new Set(numericKeys);
    for (var i = 0; i < upTo; i += 1) known.add(compiled[i].name);
    return known;
  }

  function addCustom(name, formula, better) {
    name = checkName(String(name || "").trim());
    if (byKey.has(name) || compiled.some(function (c) { return c.name === name; })) throw new FormulaError("a column named '" + name + "' already exists");
    var tree = parse(formula, knownSet(compiled.length));
    compiled.push({ name: name, formula: formula, better: better === "lower" ? "lower" : "higher", tree: tree });
  }

  function rowsWithCustom() {
    return BASE_ROWS.map(function (row) {
      var out = Object.assign({}, row);
      compiled.forEach(function (c) { out[c.name] = evaluate(c.tree, out); });
      return out;
    });
  }

  function allColumns() {
    return COLUMNS.concat(compiled.map(function (c) {
      return { key: c.name, label: c.name, title: c.name, unit: "", better: c.better, level: "basic", kind: "number", digits: 3, description: c.formula, custom: true };
    }));
  }

  function columnByKey(key) { return allColumns().find(function (c) { return c.key === key; }); }

  /* Basic view: the basic columns, with latency and TTFT following the latency statistic. */
  function visibleColumns() {
    if (state.all) return allColumns();
    var swap = {};
    if (state.pct !== "mean") {
      swap.latency_s = latencyKey(state.pct);
      swap.ttft_s = latencyKey(state.pct, "ttft");
    }
    return allColumns().filter(function (c) {
      return (c.level === "basic" && !EMPTY_BATCHING.has(c.key)) || c.custom;
    }).map(function (c) {
      return swap[c.key] && byKey.has(swap[c.key]) ? byKey.get(swap[c.key]) : c;
    });
  }
  // A board of static batches only has no batch cap, one of continuous batching no batch size:
  // the basic columns leave out the one no row has (both stay under "all columns").
  var EMPTY_BATCHING = new Set(["batch_size", "max_num_seqs"].filter(function (key) {
    return !BASE_ROWS.some(function (r) { return typeof r[key] === "number"; });
  }));

  function matchesSearch(row) {
    if (!state.q) return true;
    var q = state.q.toLowerCase();
    return [row.model, row.model_id, row.model_slug, row.backend, row.energy_source, row.source, row.citation, row.configuration].some(function (v) {
      return typeof v === "string" && v.toLowerCase().indexOf(q) >= 0;
    });
  }

  /* Steady-state rows (the reference's method) head the table; the others follow, sorted alike. */
  var STEADY = "steady state (continuous batching)";
  function methodRank(row) { return row.method === STEADY ? 0 : 1; }

  function compareRows(a, b) {
    var rank = methodRank(a) - methodRank(b);
    if (rank) return rank;
    var col = columnByKey(state.sortKey);
    if (!col) return 0;
    var va = a[col.key], vb = b[col.key];
    var missingA = va === null || va === undefined, missingB = vb === null || vb === undefined;
    if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;  // missing last
    var order = col.kind === "number" ? va - vb : String(va).localeCompare(String(vb));
    return state.sortDir === "asc" ? order : -order;
  }

  /* The GPU-count filter's value of a row: its GPU count, or "na" where it was not published. */
  function gpuValue(row) { return typeof row.num_devices === "number" ? String(row.num_devices) : "na"; }
  var GPU_VALUES = new Set(BASE_ROWS.map(gpuValue));

  function currentRows() {
    var rows = rowsWithCustom().filter(matchesSearch);
    if (!state.pub) rows = rows.filter(function (r) { return r.source !== "published"; });
    if (state.gpus) rows = rows.filter(function (r) { return gpuValue(r) === state.gpus; });
    var before = new Set(rows.map(deadlineKey));
    var configsBefore = rows.length;
    if (hasEnergy && state.budgetOn && state.budget !== null) rows = applyBudget(rows, state.budget);
    var withinBudget = rows.length;
    if (state.deadlineOn && state.deadline !== null) rows = applyDeadline(rows, state.deadline, latencyKey(state.pct));
    var after = new Set(rows.map(deadlineKey));
    rows.sort(compareRows);
    return { rows: rows, modelsBefore: before.size, modelsAfter: after.size, configsBefore: configsBefore, withinBudget: withinBudget };
  }

  function badge(text, cls, title) {
    var span = document.createElement("span");
    span.className = "badge " + cls;
    span.textContent = text;
    span.title = title;
    return span;
  }

  function compareBox(row) {
    var box = document.createElement("input");
    box.type = "checkbox";
    box.className = "cmp";
    box.setAttribute("data-model", row.model_name);
    box.setAttribute("aria-label", "compare " + row.model);
    box.checked = chosen.indexOf(row.model_name) >= 0;
    box.addEventListener("change", function () {
      var at = chosen.indexOf(row.model_name);
      if (box.checked && at < 0) {
        if (chosen.length >= 4) { box.checked = false; $("compare-hint").textContent = "at most 4 models"; return; }
        chosen.push(row.model_name);
      } else if (!box.checked && at >= 0) chosen.splice(at, 1);
      renderCompare();
      Array.prototype.forEach.call(document.querySelectorAll("#board-table input.cmp"), function (other) {
        other.checked = chosen.indexOf(other.getAttribute("data-model")) >= 0;
      });
    });
    return box;
  }

  function renderCompare() {
    var button = $("compare-go");
    button.textContent = "Compare selected models (" + chosen.length + ")";
    button.disabled = chosen.length < 2 || chosen.length > 4;
    $("compare-hint").textContent = chosen.length < 2 ? "tick 2 to 4 models in the table" : "";
  }

  function compareUrl() {
    var params = new URLSearchParams();
    params.set("board", DATA.board.slug);
    chosen.forEach(function (name) { params.append("m", name); });
    return "../compare.html#" + params.toString();
  }

  function renderTable(rows) {
    var columns = visibleColumns();
    var thead = $("board-table").tHead;
    var tbody = $("board-table").tBodies[0];
    thead.textContent = "";
    tbody.textContent = "";
    var tr = document.createElement("tr");
    columns.forEach(function (col) {
      var th = document.createElement("th");
      th.scope = "col";
      th.dataset.key = col.key;
      th.title = (col.description || "") + (col.better !== "none" ? " (" + col.better + " is better)" : "");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = headerText(col);
      if (state.sortKey === col.key) {
        th.setAttribute("aria-sort", state.sortDir === "asc" ? "ascending" : "descending");
        button.textContent += state.sortDir === "asc" ? " ▲" : " ▼";
      }
      button.addEventListener("click", function () {
        if (state.sortKey === col.key) state.sortDir = state.sortDir === "asc" ? "desc" : "asc";
        else { state.sortKey = col.key; state.sortDir = col.better === "higher" ? "desc" : "asc"; }
        update();
      });
      th.appendChild(button);
      if (col.custom) th.classList.add("custom");
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) {
      var line = document.createElement("tr");
      line.dataset.rowId = row.row_id;
      if (row.source === "published") { line.className = "published"; line.dataset.source = "published"; }
      columns.forEach(function (col) {
        var td = document.createElement("td");
        td.dataset.key = col.key;
        var value = row[col.key];
        if (col.key === "model") {
          td.appendChild(compareBox(row));
          td.appendChild(document.createTextNode(" "));
          var link = document.createElement("a");
          link.href = "../models/" + encodeURIComponent(row.model_slug) + ".html";
          link.textContent = value;
          td.appendChild(link);
          if (row.random_weights) td.appendChild(badge("random weights", "badge-random", "random weights: energy and time are real for this architecture, accuracy means nothing; prompts were tokenized with the embedded stand-in tokenizer, so prompt lengths in tokens are not the real model's"));
          if (row.method === STEADY) td.appendChild(badge("steady state", "badge-steady", "the reference's steady-state window on continuous batching (batch cap " + row.max_num_seqs + "): the serving figure"));
          else if (row.method) td.appendChild(badge("HF static batches", "badge-static", "batches that start together: a reference for kernels and the roofline, not the serving figure"));
          if (row.trust_remote_code) td.appendChild(badge("remote code", "badge-remote", "loads code from the model repository"));
          if (row.source === "published") td.appendChild(badge("published", "badge-published", row.source_note || ("published: " + row.citation)));
        } else if (col.kind === "text") {
          var absent = value === null || value === undefined;
          td.textContent = absent ? (row.source === "published" ? "not published" : "") : String(value);
          if (absent && row.source === "published") td.classList.add("nm");
          if (col.key === "energy_source" && row.energy_reason) td.title = row.energy_reason;
        } else {
          td.className = "n";
          var missing = value === null || value === undefined || typeof value !== "number" || !isFinite(value);
          td.textContent = missing ? missingText(row, col) : formatNumber(value, col.digits);
          if (missing) {
            td.classList.add("nm");
            if (DERIVED.has(col.key) && row.derived_notes) td.title = row.derived_notes;
            else if ((col.key === "accuracy_avg" || col.key.indexOf("acc_") === 0) && row.accuracy_reason) td.title = row.accuracy_reason;
            else if (col.key.indexOf("energy") === 0 && row.energy_reason) td.title = row.energy_reason;
          } else {
            td.dataset.value = String(value);
            if (state.spread && col.spread) {
              var spread = spreadText(row, col.key);
              if (spread) {
                var span = document.createElement("span");
                span.className = "sd";
                span.textContent = " " + spread;
                td.appendChild(span);
              }
            }
            if (row.source === "published") td.title = "as published: " + String(value) + (col.unit ? " " + col.unit : "");
          }
        }
        line.appendChild(td);
      });
      fragment.appendChild(line);
    });
    tbody.appendChild(fragment);
  }

  /* Drop custom column `index` and the later ones that used it; a sort or an explorer axis on
   * a dropped column goes back to its default, every other axis stays where it was. */
  function removeCustom(index) {
    var removed = compiled.slice(index);
    compiled = compiled.slice(0, index);
    removed.slice(1).forEach(function (r) { try { addCustom(r.name, r.formula, r.better); } catch (e) { /* dropped */ } });
    var alive = new Set(allColumns().map(function (c) { return c.key; }));
    if (!alive.has(state.sortKey)) { state.sortKey = DEFAULT_SORT; state.sortDir = "asc"; }
    if (!alive.has(state.x)) state.x = DEFAULT_X;
    if (!alive.has(state.y)) state.y = DEFAULT_Y;
    update();
  }

  function renderFormulaList() {
    var list = $("formula-list");
    list.textContent = "";
    compiled.forEach(function (c, index) {
      var li = document.createElement("li");
      var code = document.createElement("code");
      code.textContent = c.name + " = " + c.formula;
      li.appendChild(code);
      li.appendChild(document.createTextNode(" (" + c.better + " is better) "));
      var remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "remove";
      remove.setAttribute("aria-label", "remove column " + c.name);
      remove.addEventListener("click", function () { removeCustom(index); });
      li.appendChild(remove);
      list.appendChild(li);
    });
    $("formula-keys").textContent = Array.from(knownSet(compiled.length)).join(", ");
  }

  function fillAxisSelects() {
    var numeric = allColumns().filter(function (c) { return c.kind === "number"; });
    var keys = numeric.map(function (c) { return c.key; });
    if (keys.indexOf(state.x) < 0) state.x = keys.indexOf(DEFAULT_X) >= 0 ? DEFAULT_X : keys[0];
    if (keys.indexOf(state.y) < 0) state.y = keys.indexOf(DEFAULT_Y) >= 0 ? DEFAULT_Y : keys[1];
    ["explore-x", "explore-y"].forEach(function (id) {
      var select = $(id);
      select.textContent = "";
      numeric.forEach(function (c) {
        var option = document.createElement("option");
        option.value = c.key;
        option.textContent = headerText(c);
        select.appendChild(option);
      });
      select.value = id === "explore-x" ? state.x : state.y;
    });
  }

  function style(row) { return STYLES[row.model_name] || { color: "#1f77b4", shape: "circle" }; }

  var explorerView = null;
  var explorerToken = 0;
  function renderExplorer(rows) {
    var xc = columnByKey(state.x);
    var yc = columnByKey(state.y);
    var target = $("chart-explore");
    if (!xc || !yc || !window.LBCharts) return;
    var points = rows.map(function (r) {
      return {
        key: r.row_id, x: r[xc.key], y: r[yc.key], model: r.model, model_name: r.model_name,
        batch_size: r.batch_size, backend: r.backend, color: style(r).color, shape: style(r).shape,
        source: r.source === "published" ? "published: " + r.citation : "measured",
      };
    });
    var usable = points.filter(function (p) { return typeof p.x === "number" && isFinite(p.x) && typeof p.y === "number" && isFinite(p.y); });
    var dropped = points.length - usable.length;
    var hasFront = xc.better !== "none" && yc.better !== "none";
    var front = hasFront ? paretoFront(usable, xc.better, yc.better) : new Set();
    usable.forEach(function (p) { p.frontier = front.has(p.key) ? "on the Pareto front" : "dominated"; });
    var publishedShown = rows.filter(function (r) { return r.source === "published"; }).length;
    var droppedPoints = points.filter(function (p) { return usable.indexOf(p) < 0; });
    var droppedPublished = droppedPoints.filter(function (p) { return p.source !== "measured"; }).length;
    var why = [droppedPublished < droppedPoints.length ? "not measured" : "", droppedPublished ? "not published" : ""]
      .filter(Boolean).join(" or ");
    $("chart-explore-note").textContent = usable.length + " point(s) drawn" +
      (dropped ? "; dropped " + dropped + " with a missing value (" + why + ")" : "") +
      (hasFront ? "" : "; no front: an axis has no better direction") + "." +
      (PUBLISHED_ROWS ? (publishedShown ? " The front includes " + publishedShown + " published row(s)." : " The front includes measured results only.") : "");
    var xTitle = headerText(xc), yTitle = headerText(yc);
    fillTable($("chart-explore-table"), ["Model", "Batch", "Backend", xTitle, yTitle, "Pareto"], usable.map(function (p) {
      return [p.model, p.batch_size, p.backend, formatNumber(p.x, 4), formatNumber(p.y, 4), p.frontier];
    }));
    var token = ++explorerToken;
    if (explorerView) { window.LBCharts.release(explorerView); explorerView = null; }
    if (!usable.length) {
      target.textContent = "No points to draw for these axes.";
      target.setAttribute("data-rendered", "empty");
      return;
    }
    var x = { field: "x", type: "quantitative", title: xTitle, scale: { zero: false }, axis: axis(xTitle) };
    var y = { field: "y", type: "quantitative", title: yTitle, scale: { zero: false }, axis: axis(yTitle) };
    var identity = function (field) { return { field: field, type: "nominal", scale: null, legend: null }; };
    var spec = {
      width: "container", height: 300, autosize: { type: "fit-x", contains: "padding", resize: true },
      datasets: { points: usable },
      data: { name: "points" },
      params: [{ name: "hl", value: null }],
      layer: (front.size ? [
        { mark: { type: "line", color: "#444", strokeDash: [4, 3], interpolate: "step-after" },
          transform: [{ filter: "datum.frontier == 'on the Pareto front'" }],
          encoding: { x: x, y: y, order: { field: "x", type: "quantitative" } } }] : []).concat([
        { mark: { type: "point", filled: true, size: 120, strokeWidth: 2 },
          encoding: {
            x: x, y: y, color: identity("color"), stroke: identity("color"), shape: identity("shape"),
            fillOpacity: { condition: { test: "datum.frontier == 'on the Pareto front'", value: 1 }, value: 0.12 },
            opacity: HIGHLIGHT_OPACITY,
            tooltip: [
              { field: "model", type: "nominal", title: "Model" },
              { field: "batch_size", type: "quantitative", title: "Batch" },
              { field: "backend", type: "nominal", title: "Backend" },
              { field: "x", type: "quantitative", title: xTitle, format: ".4~g" },
              { field: "y", type: "quantitative", title: yTitle, format: ".4~g" },
              { field: "frontier", type: "nominal", title: "Pareto" },
            ].concat(PUBLISHED_ROWS ? [{ field: "source", type: "nominal", title: "Source" }] : []) } },
      ]),
    };
    target.textContent = "";
    target.removeAttribute("data-rendered");
    target.setAttribute("data-description", "x: " + xTitle + ", y: " + yTitle + "; " + usable.length + " configurations.");
    window.LBCharts.embed(target, spec, "Explorer: " + yTitle + " against " + xTitle).then(function (result) {
      if (token !== explorerToken) { window.LBCharts.release(result); return; }
      explorerView = result;
    });
  }

  /* ---------- URL state ---------- */
  function writeHash() {
    var params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    if (state.all) params.set("cols", "all");
    if (PUBLISHED_ROWS && !state.pub) params.set("pub", "0");
    if (state.gpus) params.set("gpus", state.gpus);
    if (state.spread) params.set("spread", "1");
    if (state.pct !== "mean") params.set("pct", state.pct);
    params.set("sort", state.sortKey + "." + state.sortDir);
    if (state.deadlineOn && state.deadline !== null) params.set("deadline", String(Number(state.deadline.toPrecision(4))));
    if (hasEnergy && state.budgetOn && state.budget !== null) params.set("budget", String(Number(state.budget.toPrecision(4))));
    compiled.forEach(function (c) { params.append("c", c.name + "~" + c.better + "~" + c.formula); });
    params.set("x", state.x);
    params.set("y", state.y);
    var hash = "#" + params.toString();
    if (location.hash !== hash) {
      try { history.replaceState(null, "", hash); } catch (error) { location.hash = hash; }
    }
  }

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    state.q = params.get("q") || "";
    state.all = params.get("cols") === "all";
    state.pub = params.get("pub") !== "0";
    state.gpus = $("gpus") && GPU_VALUES.has(params.get("gpus")) ? params.get("gpus") : "";
    state.spread = params.get("spread") === "1";
    state.pct = PCTS.indexOf(params.get("pct")) >= 0 ? params.get("pct") : "mean";
    var deadline = parseFloat(params.get("deadline"));
    state.deadlineOn = isFinite(deadline) && deadline > 0;
    state.deadline = state.deadlineOn ? deadline : null;
    var budget = parseFloat(params.get("budget"));
    state.budgetOn = hasEnergy && isFinite(budget) && budget > 0;
    state.budget = state.budgetOn ? budget : null;
    compiled = [];
    var problems = [];
    params.getAll("c").forEach(function (entry) {
      var parts = entry.split("~");
      if (parts.length < 3) { problems.push("bad column in the link: " + entry); return; }
      try { addCustom(parts[0], parts.slice(2).join("~"), parts[1]); } catch (error) { problems.push(parts[0] + ": " + error.message); }
    });
    var alive = new Set(allColumns().map(function (c) { return c.key; }));
    var sort = (params.get("sort") || "").split(".");
    state.sortKey = DEFAULT_SORT; state.sortDir = "asc";
    if (sort.length === 2 && (sort[1] === "asc" || sort[1] === "desc") && alive.has(sort[0])) { state.sortKey = sort[0]; state.sortDir = sort[1]; }
    state.x = alive.has(params.get("x")) ? params.get("x") : DEFAULT_X;
    state.y = alive.has(params.get("y")) ? params.get("y") : DEFAULT_Y;
    $("formula-error").textContent = problems.join("; ");
  }

  function syncControls() {
    $("search").value = state.q;
    $("all-columns").checked = state.all;
    $("show-spread").checked = state.spread;
    $("pct").value = state.pct;
    if ($("gpus")) $("gpus").value = state.gpus;
    Array.prototype.forEach.call(document.querySelectorAll(".pct-name"), function (el) { el.textContent = state.pct === "mean" ? "mean" : state.pct; });
    if (PUBLISHED_ROWS) {
      $("include-published").checked = state.pub;
      $("charts-all").hidden = !state.pub;
      $("charts-measured").hidden = state.pub;
    }
    var slider = latencySlider();
    $("deadline-on").checked = state.deadlineOn;
    var seconds = state.deadline !== null ? state.deadline : slider.max;
    $("deadline").value = String(slider.position(seconds));
    $("deadline-value").textContent = formatNumber(seconds, 3) + " s";
    if (hasEnergy && $("budget")) {
      $("budget-on").checked = state.budgetOn;
      var joules = state.budget !== null ? state.budget : budgetSlider.max;
      $("budget").value = String(budgetSlider.position(joules));
      $("budget-value").textContent = formatNumber(joules, 3) + " J";
    }
  }

  function update() {
    var result = currentRows();
    renderTable(result.rows);
    renderFormulaList();
    fillAxisSelects();
    renderExplorer(result.rows);
    renderCompare();
    $("row-count").textContent = result.rows.length + " of " + BASE_ROWS.length + " rows" +
      (PUBLISHED_ROWS ? (state.pub ? " (published results included, badged)" : " (" + PUBLISHED_ROWS + " published hidden)") : "") +
      (state.gpus ? "; " + (state.gpus === "na" ? "GPU count not published" : state.gpus + " GPU(s) only") : "");
    var status = "";
    if (state.deadlineOn && state.deadline !== null) {
      var missed = result.modelsBefore - result.modelsAfter;
      status = result.modelsAfter + " model(s) meet " + formatNumber(state.deadline, 3) + " s (" + (state.pct === "mean" ? "mean" : state.pct) + " latency)" +
        (missed ? "; " + missed + " cannot and are hidden" : "");
    }
    $("deadline-status").textContent = status;
    if (hasEnergy && $("budget-status")) {
      var over = result.configsBefore - result.withinBudget;
      $("budget-status").textContent = state.budgetOn && state.budget !== null ?
        result.withinBudget + " configuration(s) within " + formatNumber(state.budget, 3) + " J per response" +
        (over ? "; " + over + " over it or without energy, hidden" : "") : "";
    }
    syncControls();
    writeHash();
  }

  $("search").addEventListener("input", function (e) { state.q = e.target.value; update(); });
  $("all-columns").addEventListener("change", function (e) { state.all = e.target.checked; update(); });
  $("show-spread").addEventListener("change", function (e) { state.spread = e.target.checked; update(); });
  $("pct").addEventListener("change", function (e) {
    var old = latencySlider();
    var position = state.deadline !== null ? old.position(state.deadline) : null;
    state.pct = e.target.value;
    if (position !== null) state.deadline = latencySlider().value(position);
    update();
  });
  if (PUBLISHED_ROWS) $("include-published").addEventListener("change", function (e) { state.pub = e.target.checked; update(); });
  if ($("gpus")) $("gpus").addEventListener("change", function (e) { state.gpus = e.target.value; update(); });
  $("deadline-on").addEventListener("change", function (e) {
    state.deadlineOn = e.target.checked;
    state.deadline = state.deadlineOn ? latencySlider().value(Number($("deadline").value)) : null;
    update();
  });
  $("deadline").addEventListener("input", function (e) {
    state.deadlineOn = true;
    state.deadline = latencySlider().value(Number(e.target.value));
    update();
  });
  if (hasEnergy && $("budget")) {
    $("budget-on").addEventListener("change", function (e) {
      state.budgetOn = e.target.checked;
      state.budget = state.budgetOn ? budgetSlider.value(Number($("budget").value)) : null;
      update();
    });
    $("budget").addEventListener("input", function (e) {
      state.budgetOn = true;
      state.budget = budgetSlider.value(Number(e.target.value));
      update();
    });
  }
  $("formula-add").addEventListener("click", function () {
    try {
      addCustom($("formula-name").value, $("formula-text").value, $("formula-better").value);
      $("formula-error").textContent = "";
      state.sortKey = compiled[compiled.length - 1].name;
      state.sortDir = compiled[compiled.length - 1].better === "higher" ? "desc" : "asc";
      state.y = state.sortKey;
      update();
    } catch (error) {
      if (!(error instanceof FormulaError)) throw error;
      $("formula-error").textContent = error.message;
    }
  });
  $("formula-text").addEventListener("keydown", function (e) { if (e.key === "Enter") $("formula-add").click(); });
  $("explore-x").addEventListener("change", function (e) { state.x = e.target.value; update(); });
  $("explore-y").addEventListener("change", function (e) { state.y = e.target.value; update(); });
  $("share").addEventListener("click", function () {
    var done = function () { $("share").textContent = "Link copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(location.href).then(done, function () { window.prompt("Copy this link", location.href); });
    } else window.prompt("Copy this link", location.href);
  });
  $("compare-go").addEventListener("click", function () { if (chosen.length >= 2) location.href = compareUrl(); });
  function goToBoard() {
    var task = $("sel-task").value, hardware = $("sel-hardware").value;
    var target = DATA.boards.find(function (b) { return b.task === task && b.hardware === hardware; });
    if (!target) { $("sel-missing").hidden = false; return; }
    location.href = encodeURIComponent(target.slug) + ".html" + location.hash;
  }
  $("sel-task").addEventListener("change", goToBoard);
  $("sel-hardware").addEventListener("change", goToBoard);
  window.addEventListener("hashchange", function () { readHash(); update(); });

  readHash();
  update();
  window.LB.state = state;
  window.LB.update = update;
  window.LB.chosen = function () { return chosen.slice(); };
})();
