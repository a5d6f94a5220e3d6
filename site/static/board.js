/* The board page: the table (sort, search, GPU filter, basic/all columns, latency deadline,
 * energy budget, custom formula columns), shown a page at a time while search, sort and the
 * CSV download cover every row; the explorer chart; the view in the URL hash so it can be
 * shared. Rows come from the board's data script (data.js: decoded once, shared with the
 * charts). Filtering, sorting and the explorer's points are each recomputed only when what
 * they depend on changed, so a sort or a page turn redraws the visible rows only. */
(function () {
  "use strict";
  var LB = window.LB;
  var settings = window.LBData ? window.LBData.page() : {};
  var DATA = settings.dataset ? window.LBData.get(settings.dataset) : null;
  if (!DATA || !document.getElementById("board-table")) return;
  var BOARDS = settings.boards || [];
  var COLUMNS = DATA.columns;
  var BASE_ROWS = window.LBData.boardRows(settings.dataset);
  var byKey = new Map(COLUMNS.map(function (c) { return [c.key, c]; }));
  var DERIVED = new Set(DATA.derived_keys || []);  // hover an empty derived cell: why
  var numericKeys = COLUMNS.filter(function (c) { return c.kind === "number"; }).map(function (c) { return c.key; });
  var FormulaError = LB.FormulaError, formatNumber = LB.formatNumber, headerText = LB.headerText;
  var latencyKey = LB.latencyKey, fillTable = LB.fillTable, axis = LB.axis;
  var PCTS = ["mean", "p50", "p90", "p99"];
  var PAGE_SIZES = [25, 50, 100, 250];
  // On an accuracy axis, random-weight models are faded: their accuracy means nothing.
  var FADE_RANDOM = { condition: [{ test: "hl != null && datum.model_name != hl", value: 0.15 }, { test: "datum.random", value: 0.35 }], value: 1 };

  var PUBLISHED_ROWS = DATA.published_rows || 0;  // published rows on this board (0: no control)
  var hasEnergy = BASE_ROWS.some(function (r) { return typeof r.energy_per_response_j === "number"; });
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
    page: 1, size: 50,
  };
  var compiled = [];  // [{name, better, formula, tree}]
  var chosen = [];    // model names ticked for comparison (2 to 4)

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
  var sliders = {};
  function slider(key) {
    if (!sliders[key]) sliders[key] = new LogSlider(BASE_ROWS.map(function (r) { return r[key]; }));
    return sliders[key];
  }
  function latencySlider() { return slider(latencyKey(state.pct)); }
  function budgetSlider() { return slider("energy_per_response_j"); }

  function knownSet(upTo) {
    var known = new Set(numericKeys);
    for (var i = 0; i < upTo; i += 1) known.add(compiled[i].name);
    return known;
  }

  /* Custom columns are computed into the rows themselves (names are checked identifiers that
   * are no column key and no key of Object.prototype). */
  function computeCustom() {
    BASE_ROWS.forEach(function (row) {
      compiled.forEach(function (c) { row[c.name] = LB.evaluate(c.tree, row); });
    });
  }

  // Custom values live on the rows themselves, which the charts share: a custom column may not
  // take the name of anything a row carries, or of what the charts compute onto the rows.
  var ROW_KEYS = new Set(["color", "shape", "source_text", "batch_order", "batch_label"]);
  BASE_ROWS.forEach(function (row) { Object.keys(row).forEach(function (key) { ROW_KEYS.add(key); }); });
  var CHART_FIELDS = /^frontier_|_text$|_lo$|_lo_log$|_hi$/;

  function addCustom(name, formula, better) {
    name = LB.checkName(String(name || "").trim());
    if (byKey.has(name) || compiled.some(function (c) { return c.name === name; })) throw new FormulaError("a column named '" + name + "' already exists");
    if (ROW_KEYS.has(name) || CHART_FIELDS.test(name)) throw new FormulaError("'" + name + "' is a name the rows already use; choose another");
    var tree = LB.parse(formula, knownSet(compiled.length));
    compiled.push({ name: name, formula: formula, better: better === "lower" ? "lower" : "higher", tree: tree });
  }

  function allColumns() {
    return COLUMNS.concat(compiled.map(function (c) {
      return { key: c.name, label: c.name, title: c.name, unit: "", better: c.better, level: "basic", kind: "number", digits: 3, description: c.formula, custom: true };
    }));
  }

  function columnByKey(key) { return allColumns().find(function (c) { return c.key === key; }); }

  // A board of static batches only has no batch cap, one of continuous batching no batch size:
  // the basic columns leave out the one no row has (both stay under "all columns").
  // Likewise the layout where every row has the same one ("single device" on a board of one-GPU
  // runs): it says nothing a column of its own should.
  var EMPTY_BATCHING = new Set(["batch_size", "max_num_seqs"].filter(function (key) {
    return !BASE_ROWS.some(function (r) { return typeof r[key] === "number"; });
  }).concat(new Set(BASE_ROWS.map(function (r) { return r.layout; })).size <= 1 ? ["layout"] : []));

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

  var SEARCHED = ["model", "model_id", "model_slug", "backend", "energy_source", "source", "citation", "configuration"];
  // Each row's searchable text, lower-cased once.
  var haystack = new Map();
  function searchText(row) {
    var text = haystack.get(row);
    if (text === undefined) {
      text = SEARCHED.map(function (k) { return typeof row[k] === "string" ? row[k].toLowerCase() : ""; }).join("\u0000");
      haystack.set(row, text);
    }
    return text;
  }

  /* Steady-state rows (the reference's method) head the table; the others follow, sorted alike. */
  var STEADY = "steady state (continuous batching)";
  function methodRank(row) { return row.method === STEADY ? 0 : 1; }

  function comparator() {
    var col = columnByKey(state.sortKey);
    if (!col) return null;
    var key = col.key, sign = state.sortDir === "asc" ? 1 : -1, numeric = col.kind === "number";
    return function (a, b) {
      var rank = methodRank(a) - methodRank(b);
      if (rank) return rank;
      var va = a[key], vb = b[key];
      var missingA = va === null || va === undefined, missingB = vb === null || vb === undefined;
      if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;  // missing last
      return sign * (numeric ? va - vb : window.LBData.naturalCompare(va, vb));
    };
  }

  /* The GPU-count filter's value of a row: its GPU count, or "na" where it was not published. */
  function gpuValue(row) { return typeof row.num_devices === "number" ? String(row.num_devices) : "na"; }
  var GPU_VALUES = new Set(BASE_ROWS.map(gpuValue));

  function filterSignature() {
    return JSON.stringify([state.q, state.pub, state.gpus, state.budgetOn && state.budget, state.deadlineOn && state.deadline,
      state.pct, compiled.map(function (c) { return c.name + "=" + c.formula; })]);
  }

  var cache = { filter: null, result: null, sort: null, sorted: null };
  function currentRows() {
    var signature = filterSignature();
    if (cache.filter !== signature) {
      var q = state.q.toLowerCase();
      var rows = BASE_ROWS.filter(function (row) {
        if (q && searchText(row).indexOf(q) < 0) return false;
        if (!state.pub && row.source === "published") return false;
        return !state.gpus || gpuValue(row) === state.gpus;
      });
      var before = new Set(rows.map(LB.deadlineKey));
      var configsBefore = rows.length;
      if (hasEnergy && state.budgetOn && state.budget !== null) rows = LB.applyBudget(rows, state.budget);
      var withinBudget = rows.length;
      if (state.deadlineOn && state.deadline !== null) rows = LB.applyDeadline(rows, state.deadline, latencyKey(state.pct));
      var after = new Set(rows.map(LB.deadlineKey));
      cache.filter = signature;
      cache.result = { rows: rows, modelsBefore: before.size, modelsAfter: after.size, configsBefore: configsBefore, withinBudget: withinBudget };
      cache.sort = null;
    }
    var sortSignature = state.sortKey + "." + state.sortDir;
    if (cache.sort !== sortSignature) {
      var compare = comparator();
      cache.sorted = compare ? cache.result.rows.slice().sort(compare) : cache.result.rows.slice();
      cache.sort = sortSignature;
    }
    return Object.assign({}, cache.result, { rows: cache.sorted });
  }
  function invalidate() { cache.filter = null; }

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

  function headerRow(columns) {
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
        state.page = 1;
        update();
      });
      th.appendChild(button);
      if (col.custom) th.classList.add("custom");
      tr.appendChild(th);
    });
    return tr;
  }

  function cellFor(row, col) {
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
      td.textContent = missing ? LB.missingText(row, col) : formatNumber(value, col.digits);
      if (missing) {
        td.classList.add("nm");
        if (DERIVED.has(col.key) && row.derived_notes) td.title = row.derived_notes;
        else if ((col.key === "accuracy_avg" || col.key.indexOf("acc_") === 0) && row.accuracy_reason) td.title = row.accuracy_reason;
        else if (col.key.indexOf("energy") === 0 && row.energy_reason) td.title = row.energy_reason;
      } else {
        td.dataset.value = String(value);
        if (state.spread && col.spread) {
          var spread = LB.spreadText(row, col.key);
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
    return td;
  }

  function pageCount(total) { return Math.max(1, Math.ceil(total / state.size)); }

  /* Only the rows of the current page are in the document. */
  function renderTable(rows) {
    var columns = visibleColumns();
    var table = $("board-table");
    table.tHead.textContent = "";
    table.tHead.appendChild(headerRow(columns));
    var pages = pageCount(rows.length);
    if (state.page > pages) state.page = pages;
    var start = (state.page - 1) * state.size;
    var shown = rows.slice(start, start + state.size);
    var body = document.createElement("tbody");
    shown.forEach(function (row) {
      var line = document.createElement("tr");
      line.dataset.rowId = row.row_id;
      if (row.source === "published") { line.className = "published"; line.dataset.source = "published"; }
      columns.forEach(function (col) { line.appendChild(cellFor(row, col)); });
      body.appendChild(line);
    });
    table.replaceChild(body, table.tBodies[0]);
    $("page-status").textContent = rows.length ?
      "rows " + (start + 1).toLocaleString("en-US") + "–" + (start + shown.length).toLocaleString("en-US") + " of " + rows.length.toLocaleString("en-US") + " (page " + state.page + " of " + pages + ")" :
      "no rows";
    $("page-prev").disabled = state.page <= 1;
    $("page-next").disabled = state.page >= pages;
    $("pager").hidden = rows.length <= PAGE_SIZES[0];
  }

  /* Drop custom column `index` and the later ones that used it; a sort or an explorer axis on
   * a dropped column goes back to its default, every other axis stays where it was. */
  function removeCustom(index) {
    var removed = compiled.slice(index);
    compiled = compiled.slice(0, index);
    removed.forEach(function (r) { BASE_ROWS.forEach(function (row) { delete row[r.name]; }); });
    removed.slice(1).forEach(function (r) { try { addCustom(r.name, r.formula, r.better); } catch (e) { /* dropped */ } });
    computeCustom();
    var alive = new Set(allColumns().map(function (c) { return c.key; }));
    if (!alive.has(state.sortKey)) { state.sortKey = DEFAULT_SORT; state.sortDir = "asc"; }
    if (!alive.has(state.x)) state.x = DEFAULT_X;
    if (!alive.has(state.y)) state.y = DEFAULT_Y;
    invalidate();
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
    var signature = keys.join(",");
    ["explore-x", "explore-y"].forEach(function (id) {
      var select = $(id);
      if (select.getAttribute("data-keys") !== signature) {
        select.textContent = "";
        numeric.forEach(function (c) {
          var option = document.createElement("option");
          option.value = c.key;
          option.textContent = headerText(c);
          select.appendChild(option);
        });
        select.setAttribute("data-keys", signature);
      }
      select.value = id === "explore-x" ? state.x : state.y;
    });
  }

  /* ---------- the explorer chart: redrawn after the table, only when its points change ---------- */
  var explorer = { view: null, token: 0, signature: null, timer: null };
  function renderExplorer(rows) {
    var xc = columnByKey(state.x);
    var yc = columnByKey(state.y);
    if (!xc || !yc || !window.LBCharts) return;
    var xTitle = headerText(xc), yTitle = headerText(yc);
    var usable = [];
    var dropped = 0, droppedPublished = 0;
    rows.forEach(function (r) {
      var x = r[xc.key], y = r[yc.key];
      if (typeof x === "number" && isFinite(x) && typeof y === "number" && isFinite(y)) {
        usable.push({
          key: r.row_id, x: x, y: y, model: r.model, model_name: r.model_name, configuration: r.configuration,
          backend: r.backend, color: r.color, shape: r.shape, random: !!r.random_weights,
          source: r.source === "published" ? "published: " + r.citation : "measured",
        });
      } else {
        dropped += 1;
        if (r.source === "published") droppedPublished += 1;
      }
    });
    var hasFront = xc.better !== "none" && yc.better !== "none";
    var front = hasFront ? LB.paretoFront(usable, xc.better, yc.better) : new Set();
    usable.forEach(function (p) { p.frontier = front.has(p.key) ? "on the Pareto front" : "dominated"; });
    var publishedShown = rows.filter(function (r) { return r.source === "published"; }).length;
    var why = [droppedPublished < dropped ? "not measured" : "", droppedPublished ? "not published" : ""].filter(Boolean).join(" or ");
    $("chart-explore-note").textContent = usable.length + " point(s) drawn" +
      (dropped ? "; dropped " + dropped + " with a missing value (" + why + ")" : "") +
      (hasFront ? "" : "; no front: an axis has no better direction") + "." +
      (PUBLISHED_ROWS ? (publishedShown ? " The front includes " + publishedShown + " published row(s)." : " The front includes measured results only.") : "");
    var details = $("chart-explore-box").querySelector("details");
    var fillPoints = function () {
      fillTable($("chart-explore-table"), ["Model", "Configuration", "Backend", xTitle, yTitle, "Pareto"], usable.map(function (p) {
        return [p.model, p.configuration, p.backend, formatNumber(p.x, 4), formatNumber(p.y, 4), p.frontier];
      }));
    };
    if (details.open) fillPoints();
    details.onToggle = fillPoints;
    var token = ++explorer.token;
    clearTimeout(explorer.timer);
    // The note and table above are up to date at once; the drawing waits for the table to be
    // painted (and for a typist to pause).
    explorer.timer = setTimeout(function () { drawExplorer(token, usable, front, xc, yc, xTitle, yTitle); }, explorer.view ? 150 : 0);
  }

  function drawExplorer(token, usable, front, xc, yc, xTitle, yTitle) {
    var target = $("chart-explore");
    if (token !== explorer.token) return;
    if (explorer.view) { window.LBCharts.release(explorer.view); explorer.view = null; }
    if (!usable.length) {
      target.textContent = "No points to draw for these axes.";
      target.setAttribute("data-rendered", "empty");
      return;
    }
    var logX = wantsLog(usable, "x", xc), logY = wantsLog(usable, "y", yc);
    var randomOnly = usable.every(function (p) { return p.random; });
    var scale = function (log, col) { return log ? { type: "log" } : col.key === "accuracy_avg" && randomOnly ? { domain: [0, 1] } : { zero: false }; };
    var x = { field: "x", type: "quantitative", title: xTitle, scale: scale(logX, xc), axis: axis(xTitle) };
    var y = { field: "y", type: "quantitative", title: yTitle, scale: scale(logY, yc), axis: axis(yTitle) };
    var accuracyAxis = [xc.key, yc.key].some(function (k) { return k === "accuracy_avg" || k.indexOf("acc_") === 0; });
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
            opacity: accuracyAxis ? FADE_RANDOM : LB.HIGHLIGHT_OPACITY,
            tooltip: [
              { field: "model", type: "nominal", title: "Model" },
              { field: "configuration", type: "nominal", title: "Configuration" },
              { field: "backend", type: "nominal", title: "Backend" },
              { field: "x", type: "quantitative", title: xTitle, format: ".4~g" },
              { field: "y", type: "quantitative", title: yTitle, format: ".4~g" },
              { field: "frontier", type: "nominal", title: "Pareto" },
            ].concat(PUBLISHED_ROWS ? [{ field: "source", type: "nominal", title: "Source" }] : []) } },
      ]),
    };
    target.textContent = "";
    target.removeAttribute("data-rendered");
    target.setAttribute("data-description", "x: " + xTitle + (logX ? " (log scale)" : "") + ", y: " + yTitle + (logY ? " (log scale)" : "") + "; " + usable.length + " configurations.");
    window.LBCharts.embed(target, spec, "Explorer: " + yTitle + " against " + xTitle, usable.length).then(function (result) {
      if (token !== explorer.token) { window.LBCharts.release(result); return; }
      explorer.view = result;
    });
  }

  /* Log scale where the positive values span more than 30× (as the built charts); never accuracy. */
  function wantsLog(points, axisName, col) {
    if (col.key === "accuracy_avg" || col.key.indexOf("acc_") === 0) return false;
    var min = Infinity, max = -Infinity;
    for (var i = 0; i < points.length; i += 1) {
      var v = points[i][axisName];
      if (v <= 0) return false;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return points.length > 0 && max / min > 30;
  }

  function scheduleExplorer(rows) {
    var signature = cache.filter + "|" + state.x + "|" + state.y;
    if (signature === explorer.signature) return;
    explorer.signature = signature;
    $("chart-explore").removeAttribute("data-rendered");
    renderExplorer(rows);
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
    if (state.page > 1) params.set("page", String(state.page));
    if (state.size !== 50) params.set("rows", String(state.size));
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
    compiled.forEach(function (c) { BASE_ROWS.forEach(function (row) { delete row[c.name]; }); });
    compiled = [];
    var problems = [];
    params.getAll("c").forEach(function (entry) {
      var parts = entry.split("~");
      if (parts.length < 3) { problems.push("bad column in the link: " + entry); return; }
      try { addCustom(parts[0], parts.slice(2).join("~"), parts[1]); } catch (error) { problems.push(parts[0] + ": " + error.message); }
    });
    computeCustom();
    var alive = new Set(allColumns().map(function (c) { return c.key; }));
    var sort = (params.get("sort") || "").split(".");
    state.sortKey = DEFAULT_SORT; state.sortDir = "asc";
    if (sort.length === 2 && (sort[1] === "asc" || sort[1] === "desc") && alive.has(sort[0])) { state.sortKey = sort[0]; state.sortDir = sort[1]; }
    state.x = alive.has(params.get("x")) ? params.get("x") : DEFAULT_X;
    state.y = alive.has(params.get("y")) ? params.get("y") : DEFAULT_Y;
    var size = parseInt(params.get("rows"), 10);
    state.size = PAGE_SIZES.indexOf(size) >= 0 ? size : 50;
    var page = parseInt(params.get("page"), 10);
    state.page = isFinite(page) && page > 0 ? page : 1;
    $("formula-error").textContent = problems.join("; ");
    // A view that uses the folded tools opens them, so the reader sees why rows are hidden.
    if (state.all || state.spread || state.pct !== "mean" || state.deadlineOn || state.budgetOn || compiled.length || problems.length) $("tools").open = true;
    invalidate();
  }

  function syncControls() {
    $("search").value = state.q;
    $("all-columns").checked = state.all;
    $("show-spread").checked = state.spread;
    $("pct").value = state.pct;
    $("page-size").value = String(state.size);
    if ($("gpus")) $("gpus").value = state.gpus;
    Array.prototype.forEach.call(document.querySelectorAll(".pct-name"), function (el) { el.textContent = state.pct === "mean" ? "mean" : state.pct; });
    if (PUBLISHED_ROWS) {
      $("include-published").checked = state.pub;
      $("charts-all").hidden = !state.pub;
      $("charts-measured").hidden = state.pub;
    }
    var latency = latencySlider();
    $("deadline-on").checked = state.deadlineOn;
    var seconds = state.deadline !== null ? state.deadline : latency.max;
    $("deadline").value = String(latency.position(seconds));
    $("deadline-value").textContent = formatNumber(seconds, 3) + " s";
    if (hasEnergy && $("budget")) {
      var energy = budgetSlider();
      $("budget-on").checked = state.budgetOn;
      var joules = state.budget !== null ? state.budget : energy.max;
      $("budget").value = String(energy.position(joules));
      $("budget-value").textContent = formatNumber(joules, 3) + " J";
    }
  }

  function update() {
    var result = currentRows();
    renderTable(result.rows);
    renderFormulaList();
    fillAxisSelects();
    scheduleExplorer(result.rows);
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

  /* The rows the table holds now (every page), every column, as a CSV file. */
  function download() {
    var rows = currentRows().rows;
    var columns = allColumns();
    var keys = ["row_id", "source", "citation"].concat(columns.map(function (c) { return c.key; }));
    var headers = ["row_id", "source", "citation"].concat(columns.map(headerText));
    var text = LB.csvText(headers, keys, rows);
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    link.download = DATA.board.slug + ".csv";
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
    return text;
  }

  function filterChanged() { state.page = 1; invalidate(); update(); }
  $("search").addEventListener("input", function (e) { state.q = e.target.value; filterChanged(); });
  $("all-columns").addEventListener("change", function (e) { state.all = e.target.checked; update(); });
  $("show-spread").addEventListener("change", function (e) { state.spread = e.target.checked; update(); });
  $("pct").addEventListener("change", function (e) {
    var old = latencySlider();
    var position = state.deadline !== null ? old.position(state.deadline) : null;
    state.pct = e.target.value;
    if (position !== null) state.deadline = latencySlider().value(position);
    filterChanged();
  });
  if (PUBLISHED_ROWS) $("include-published").addEventListener("change", function (e) { state.pub = e.target.checked; filterChanged(); });
  if ($("gpus")) $("gpus").addEventListener("change", function (e) { state.gpus = e.target.value; filterChanged(); });
  $("deadline-on").addEventListener("change", function (e) {
    state.deadlineOn = e.target.checked;
    state.deadline = state.deadlineOn ? latencySlider().value(Number($("deadline").value)) : null;
    filterChanged();
  });
  $("deadline").addEventListener("input", function (e) {
    state.deadlineOn = true;
    state.deadline = latencySlider().value(Number(e.target.value));
    filterChanged();
  });
  if (hasEnergy && $("budget")) {
    $("budget-on").addEventListener("change", function (e) {
      state.budgetOn = e.target.checked;
      state.budget = state.budgetOn ? budgetSlider().value(Number($("budget").value)) : null;
      filterChanged();
    });
    $("budget").addEventListener("input", function (e) {
      state.budgetOn = true;
      state.budget = budgetSlider().value(Number(e.target.value));
      filterChanged();
    });
  }
  $("formula-add").addEventListener("click", function () {
    try {
      addCustom($("formula-name").value, $("formula-text").value, $("formula-better").value);
      computeCustom();
      $("formula-error").textContent = "";
      state.sortKey = compiled[compiled.length - 1].name;
      state.sortDir = compiled[compiled.length - 1].better === "higher" ? "desc" : "asc";
      state.y = state.sortKey;
      filterChanged();
    } catch (error) {
      if (!(error instanceof FormulaError)) throw error;
      $("formula-error").textContent = error.message;
    }
  });
  $("formula-text").addEventListener("keydown", function (e) { if (e.key === "Enter") $("formula-add").click(); });
  $("explore-x").addEventListener("change", function (e) { state.x = e.target.value; update(); });
  $("explore-y").addEventListener("change", function (e) { state.y = e.target.value; update(); });
  $("chart-explore-box").querySelector("details").addEventListener("toggle", function (e) {
    if (e.target.open && e.target.onToggle) e.target.onToggle();
  });
  $("page-prev").addEventListener("click", function () { state.page = Math.max(1, state.page - 1); update(); });
  $("page-next").addEventListener("click", function () { state.page += 1; update(); });
  $("page-size").addEventListener("change", function (e) { state.size = Number(e.target.value); state.page = 1; update(); });
  $("download").addEventListener("click", download);
  $("share").addEventListener("click", function () {
    var done = function () { $("share").textContent = "Link copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(location.href).then(done, function () { window.prompt("Copy this link", location.href); });
    } else window.prompt("Copy this link", location.href);
  });
  $("compare-go").addEventListener("click", function () { if (chosen.length >= 2) location.href = compareUrl(); });
  function goToBoard() {
    var task = $("sel-task").value, hardware = $("sel-hardware").value;
    var target = BOARDS.find(function (b) { return b.task === task && b.hardware === hardware; });
    if (!target) { $("sel-missing").hidden = false; return; }
    location.href = encodeURIComponent(target.slug) + ".html" + location.hash;
  }
  $("sel-task").addEventListener("change", goToBoard);
  $("sel-hardware").addEventListener("change", goToBoard);
  window.addEventListener("hashchange", function () { readHash(); update(); });

  readHash();
  update();
  LB.state = state;
  LB.update = update;
  LB.rows = function () { return BASE_ROWS; };
  LB.shownRows = function () { return currentRows().rows; };
  LB.rowCount = function () { return currentRows().rows.length; };
  LB.download = download;
  LB.chosen = function () { return chosen.slice(); };
})();
