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
   * the lowest-energy row whose mean latency meets the deadline (s).
   * Rows without energy rank after measured ones; ties go to the lower latency. */
  function deadlineKey(row) { return row.source === "published" ? row.model_name + "|published|" + row.source_id : row.model_name; }
  function applyDeadline(rows, deadline) {
    var best = new Map();
    rows.forEach(function (row) {
      if (typeof row.latency_s !== "number" || row.latency_s > deadline) return;
      var key = deadlineKey(row);
      var current = best.get(key);
      var energy = typeof row.energy_per_response_j === "number" ? row.energy_per_response_j : Infinity;
      if (!current) { best.set(key, row); return; }
      var currentEnergy = typeof current.energy_per_response_j === "number" ? current.energy_per_response_j : Infinity;
      if (energy < currentEnergy || (energy === currentEnergy && row.latency_s < current.latency_s)) best.set(key, row);
    });
    return rows.filter(function (row) { return best.get(deadlineKey(row)) === row; });
  }

  /* What an empty cell says: published rows lack what their source did not publish. */
  function missingText(row, col) {
    if (row.source === "published") return "not published";
    return col.missing || "not measured";
  }

  window.LB = {
    tokenize: tokenize, parse: parse, evaluate: evaluate, FormulaError: FormulaError,
    paretoFront: paretoFront, formatNumber: formatNumber, applyDeadline: applyDeadline,
    missingText: missingText,
  };

  /* ---------- the board page ---------- */
  var holder = document.getElementById("lb-data");
  if (!holder) return;
  var DATA = JSON.parse(holder.textContent);
  var COLUMNS = DATA.columns;
  var BASE_ROWS = DATA.rows;
  var byKey = new Map(COLUMNS.map(function (c) { return [c.key, c]; }));
  var DERIVED = new Set(DATA.derived_keys || []);  // hover an empty derived cell: why
  var numericKeys = COLUMNS.filter(function (c) { return c.kind === "number"; }).map(function (c) { return c.key; });
  var IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

  var PUBLISHED_ROWS = DATA.published_rows || 0;  // published rows on this board (0: no control)
  var state = {
    q: "", all: false, pub: true, sortKey: "energy_per_response_j", sortDir: "asc",
    deadlineOn: false, deadline: null, custom: [], x: "energy_per_response_j", y: "accuracy_avg",
  };
  var compiled = [];  // [{name, better, formula, tree}]
  var hasEnergy = BASE_ROWS.some(function (r) { return typeof r.energy_per_response_j === "number"; });
  if (!hasEnergy) state.x = "latency_s";
  var hasAccuracy = BASE_ROWS.some(function (r) { return typeof r.accuracy_avg === "number"; });
  if (!hasAccuracy) state.y = hasEnergy ? "energy_per_response_j" : "throughput_tok_s";

  function $(id) { return document.getElementById(id); }

  var latencies = BASE_ROWS.map(function (r) { return r.latency_s; }).filter(function (v) { return typeof v === "number" && v > 0; });
  var minLatency = latencies.length ? Math.min.apply(null, latencies) : 0.001;
  var maxLatency = latencies.length ? Math.max.apply(null, latencies) : 1;
  if (maxLatency <= minLatency) maxLatency = minLatency * 1.01 + 1e-9;
  function sliderToSeconds(v) { return minLatency * Math.pow(maxLatency / minLatency, v / 1000); }
  function secondsToSlider(s) {
    var v = 1000 * Math.log(s / minLatency) / Math.log(maxLatency / minLatency);
    return Math.max(0, Math.min(1000, Math.round(v)));
  }

  function knownSet(upTo) {
    var known = new Set(numericKeys);
    for (var i = 0; i < upTo; i += 1) known.add(compiled[i].name);
    return known;
  }

  function addCustom(name, formula, better) {
    name = String(name || "").trim();
    if (!IDENT.test(name)) throw new FormulaError("the name must be letters, digits and _ (not starting with a digit)");
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
      return { key: c.name, label: c.name, unit: "", better: c.better, level: "basic", kind: "number", digits: 3, description: c.formula, custom: true };
    }));
  }

  function visibleColumns() {
    return allColumns().filter(function (c) { return state.all || c.level === "basic" || c.custom; });
  }

  function matchesSearch(row) {
    if (!state.q) return true;
    var q = state.q.toLowerCase();
    return [row.model, row.model_id, row.model_slug, row.backend, row.energy_source, row.source, row.citation].some(function (v) {
      return typeof v === "string" && v.toLowerCase().indexOf(q) >= 0;
    });
  }

  function compareRows(a, b) {
    var col = byKey.get(state.sortKey) || allColumns().find(function (c) { return c.key === state.sortKey; });
    if (!col) return 0;
    var va = a[col.key], vb = b[col.key];
    var missingA = va === null || va === undefined, missingB = vb === null || vb === undefined;
    if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;  // missing last
    var order = col.kind === "number" ? va - vb : String(va).localeCompare(String(vb));
    return state.sortDir === "asc" ? order : -order;
  }

  function currentRows() {
    var rows = rowsWithCustom().filter(matchesSearch);
    if (!state.pub) rows = rows.filter(function (r) { return r.source !== "published"; });
    var before = new Set(rows.map(deadlineKey));
    if (state.deadlineOn && state.deadline !== null) rows = applyDeadline(rows, state.deadline);
    var after = new Set(rows.map(deadlineKey));
    rows.sort(compareRows);
    return { rows: rows, modelsBefore: before.size, modelsAfter: after.size };
  }

  function headerText(col) { return col.unit ? col.label + " (" + col.unit + ")" : col.label; }

  function badge(text, cls, title) {
    var span = document.createElement("span");
    span.className = "badge " + cls;
    span.textContent = text;
    span.title = title;
    return span;
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
          var link = document.createElement("a");
          link.href = "../models/" + encodeURIComponent(row.model_slug) + ".html";
          link.textContent = value;
          td.appendChild(link);
          if (row.random_weights) td.appendChild(badge("random weights", "badge-random", "random weights: accuracy means nothing"));
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
          } else {
            td.dataset.value = String(value);
            if (row.source === "published") td.title = "as published: " + String(value) + (col.unit ? " " + col.unit : "");
          }
        }
        line.appendChild(td);
      });
      fragment.appendChild(line);
    });
    tbody.appendChild(fragment);
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
      remove.addEventListener("click", function () {
        var removed = compiled.slice(index);
        compiled = compiled.slice(0, index);
        // Re-add the later ones that do not use the removed column.
        removed.slice(1).forEach(function (r) { try { addCustom(r.name, r.formula, r.better); } catch (e) { /* dropped */ } });
        update();
      });
      li.appendChild(remove);
      list.appendChild(li);
    });
    $("formula-keys").textContent = Array.from(knownSet(compiled.length)).join(", ");
  }

  function fillAxisSelects() {
    var numeric = allColumns().filter(function (c) { return c.kind === "number"; });
    ["explore-x", "explore-y"].forEach(function (id) {
      var select = $(id);
      var want = id === "explore-x" ? state.x : state.y;
      select.textContent = "";
      numeric.forEach(function (c) {
        var option = document.createElement("option");
        option.value = c.key;
        option.textContent = headerText(c);
        select.appendChild(option);
      });
      if (numeric.some(function (c) { return c.key === want; })) select.value = want;
    });
    state.x = $("explore-x").value;
    state.y = $("explore-y").value;
  }

  var explorerView = null;
  var explorerToken = 0;
  function renderExplorer(rows) {
    var columns = allColumns();
    var xc = columns.find(function (c) { return c.key === state.x; });
    var yc = columns.find(function (c) { return c.key === state.y; });
    var target = $("chart-explore");
    if (!xc || !yc || !window.LBCharts) return;
    var points = rows.map(function (r) { return { key: r.row_id, x: r[xc.key], y: r[yc.key], model: r.model, batch_size: r.batch_size, source: r.source === "published" ? "published: " + r.citation : "measured" }; });
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
    var token = ++explorerToken;
    if (explorerView) { explorerView.finalize(); explorerView = null; }
    if (!usable.length) {
      target.textContent = "No points to draw for these axes.";
      target.setAttribute("data-rendered", "empty");
      return;
    }
    var xTitle = headerText(xc), yTitle = headerText(yc);
    var pick = { name: "pick", select: { type: "point", fields: ["model"] }, bind: "legend" };
    var spec = {
      width: 520, height: 320,
      datasets: { points: usable },
      data: { name: "points" },
      layer: [
        { mark: { type: "line", color: "#444", strokeDash: [4, 3], interpolate: "step-after" },
          transform: [{ filter: "datum.frontier == 'on the Pareto front'" }],
          encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, order: { field: "x", type: "quantitative" } } },
        { mark: { type: "point", size: 70, strokeWidth: 2 },
          params: [pick],
          encoding: {
            x: { field: "x", type: "quantitative", title: xTitle, scale: { zero: false }, axis: { format: "~g" } },
            y: { field: "y", type: "quantitative", title: yTitle, scale: { zero: false }, axis: { format: "~g" } },
            color: { field: "model", type: "nominal", title: "Model (click to highlight)" },
            shape: { field: "frontier", type: "nominal", title: "Pareto", scale: { domain: ["on the Pareto front", "dominated"], range: ["diamond", "circle"] } },
            fill: { condition: { test: "datum.frontier == 'on the Pareto front'", field: "model", type: "nominal" }, value: null },
            opacity: { condition: { param: "pick", value: 1 }, value: 0.15 },
            tooltip: [
              { field: "model", type: "nominal", title: "Model" },
              { field: "batch_size", type: "quantitative", title: "Batch" },
              { field: "x", type: "quantitative", title: xTitle, format: ".4~g" },
              { field: "y", type: "quantitative", title: yTitle, format: ".4~g" },
              { field: "frontier", type: "nominal", title: "Pareto" },
            ].concat(PUBLISHED_ROWS ? [{ field: "source", type: "nominal", title: "Source" }] : []) } },
      ],
    };
    target.textContent = "";
    target.removeAttribute("data-rendered");
    window.LBCharts.embed(target, spec).then(function (result) {
      if (token !== explorerToken) { if (result) result.finalize(); return; }
      explorerView = result;
    });
  }

  /* ---------- URL state ---------- */
  function writeHash() {
    var params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    if (state.all) params.set("cols", "all");
    if (PUBLISHED_ROWS && !state.pub) params.set("pub", "0");
    params.set("sort", state.sortKey + "." + state.sortDir);
    if (state.deadlineOn && state.deadline !== null) params.set("deadline", String(Number(state.deadline.toPrecision(4))));
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
    var sort = (params.get("sort") || "").split(".");
    if (sort.length === 2 && (sort[1] === "asc" || sort[1] === "desc")) { state.sortKey = sort[0]; state.sortDir = sort[1]; }
    var deadline = parseFloat(params.get("deadline"));
    state.deadlineOn = isFinite(deadline) && deadline > 0;
    state.deadline = state.deadlineOn ? deadline : null;
    compiled = [];
    var problems = [];
    params.getAll("c").forEach(function (entry) {
      var parts = entry.split("~");
      if (parts.length < 3) { problems.push("bad column in the link: " + entry); return; }
      try { addCustom(parts[0], parts.slice(2).join("~"), parts[1]); } catch (error) { problems.push(parts[0] + ": " + error.message); }
    });
    if (params.get("x")) state.x = params.get("x");
    if (params.get("y")) state.y = params.get("y");
    $("formula-error").textContent = problems.join("; ");
  }

  function syncControls() {
    $("search").value = state.q;
    $("all-columns").checked = state.all;
    if (PUBLISHED_ROWS) {
      $("include-published").checked = state.pub;
      $("charts-all").hidden = !state.pub;
      $("charts-measured").hidden = state.pub;
    }
    $("deadline-on").checked = state.deadlineOn;
    var seconds = state.deadline !== null ? state.deadline : maxLatency;
    $("deadline").value = String(secondsToSlider(seconds));
    $("deadline-value").textContent = formatNumber(seconds, 3) + " s";
  }

  function update() {
    var result = currentRows();
    renderTable(result.rows);
    renderFormulaList();
    fillAxisSelects();
    renderExplorer(result.rows);
    $("row-count").textContent = result.rows.length + " of " + BASE_ROWS.length + " rows" +
      (PUBLISHED_ROWS ? (state.pub ? " (published results included, badged)" : " (" + PUBLISHED_ROWS + " published hidden)") : "");
    var status = "";
    if (state.deadlineOn && state.deadline !== null) {
      var missed = result.modelsBefore - result.modelsAfter;
      status = result.modelsAfter + " model(s) meet " + formatNumber(state.deadline, 3) + " s" +
        (missed ? "; " + missed + " cannot and are hidden" : "");
    }
    $("deadline-status").textContent = status;
    syncControls();
    writeHash();
  }

  $("search").addEventListener("input", function (e) { state.q = e.target.value; update(); });
  $("all-columns").addEventListener("change", function (e) { state.all = e.target.checked; update(); });
  if (PUBLISHED_ROWS) $("include-published").addEventListener("change", function (e) { state.pub = e.target.checked; update(); });
  $("deadline-on").addEventListener("change", function (e) {
    state.deadlineOn = e.target.checked;
    state.deadline = state.deadlineOn ? sliderToSeconds(Number($("deadline").value)) : null;
    update();
  });
  $("deadline").addEventListener("input", function (e) {
    state.deadlineOn = true;
    state.deadline = sliderToSeconds(Number(e.target.value));
    update();
  });
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
})();
