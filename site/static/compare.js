/* Compare 2 to 4 models on one board: their rows side by side with the differences, and charts
 * against batch size. The choice lives in the URL hash (board, m repeated, backend), so a link
 * reproduces it; a model name that is not one of the board's models is refused (never looked
 * up on an object's prototype). With fewer than two models named, the board's top models (the
 * lowest energy per response, else latency) are preselected, so the page never opens empty.
 * A board's rows come from its data script, loaded when the board is chosen. */
(function () {
  "use strict";
  var holder = document.getElementById("compare-data");
  if (!holder) return;
  var DATA = JSON.parse(holder.textContent);
  var LB = window.LB;
  var $ = function (id) { return document.getElementById(id); };
  var COLUMNS = DATA.columns.filter(function (c) { return c.kind === "number" && c.level === "basic"; });
  var CHART_KEYS = ["energy_per_response_j", "latency_s", "throughput_tok_s"];
  var BOARDS = new Map(DATA.boards.map(function (b) { return [b.slug, b]; }));
  var STYLES = new Map(Object.keys(DATA.styles).map(function (name) { return [name, DATA.styles[name]]; }));
  var state = { board: DATA.busiest[""] || (DATA.boards[0] && DATA.boards[0].slug), models: [], backend: "any" };
  var rejected = [];
  var views = [];
  var loaded = null;  // the board whose rows are loaded, and its rows

  function number(v) { return typeof v === "number" && isFinite(v); }
  function style(name) { return STYLES.get(name) || { color: "#1f77b4", shape: "circle", name: name }; }
  function boardRows() { return loaded && loaded.slug === state.board ? loaded.rows : []; }

  function rowsOf(model) {
    return boardRows().filter(function (r) {
      return r.model_name === model && (state.backend === "any" || r.backend === state.backend);
    });
  }

  /* A model's configuration on the board: lowest energy per response, else lowest mean latency. */
  function bestRow(model) {
    var rows = rowsOf(model);
    var key = rows.some(function (r) { return number(r.energy_per_response_j); }) ? "energy_per_response_j" : "latency_s";
    var best = null;
    rows.forEach(function (r) { if (number(r[key]) && (!best || r[key] < best[key])) best = r; });
    return best || rows[0] || null;
  }

  /* The models named in the link that are models of the board (at most 4, no repeats); the
   * others are set aside and named in the status line. */
  function validModels(names, board) {
    var known = new Set(board.models);
    var out = [];
    rejected = [];
    names.forEach(function (name) {
      if (known.has(name) && out.indexOf(name) < 0 && out.length < 4) out.push(name);
      else if (!known.has(name)) rejected.push(name);
    });
    return out;
  }

  /* Fewer than two models: fill up with the board's top models (the ones named come first). */
  function withTop(models, board) {
    if (models.length >= 2) return models;
    var out = models.slice();
    board.top.forEach(function (name) { if (out.length < 3 && out.indexOf(name) < 0) out.push(name); });
    return out;
  }

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var board = params.get("board");
    if (board && BOARDS.has(board)) state.board = board;
    var current = BOARDS.get(state.board);
    state.models = current ? withTop(validModels(params.getAll("m"), current), current) : [];
    state.backend = params.get("backend") || "any";
  }

  function writeHash() {
    var params = new URLSearchParams();
    params.set("board", state.board);
    state.models.forEach(function (m) { params.append("m", m); });
    if (state.backend !== "any") params.set("backend", state.backend);
    try { history.replaceState(null, "", "#" + params.toString()); } catch (e) { /* ignore */ }
  }

  function renderControls() {
    $("cmp-board").value = state.board;
    var board = BOARDS.get(state.board);
    var names = board ? board.models.slice() : [];
    state.models = state.models.filter(function (m) { return names.indexOf(m) >= 0; });
    var box = $("cmp-models");
    Array.prototype.slice.call(box.querySelectorAll("label")).forEach(function (l) { l.remove(); });
    names.sort(function (a, b) { return window.LBData.naturalCompare(style(a).name, style(b).name); }).forEach(function (name) {
      var label = document.createElement("label");
      var input = document.createElement("input");
      input.type = "checkbox";
      input.value = name;
      input.className = "cmp-model";
      input.checked = state.models.indexOf(name) >= 0;
      input.addEventListener("change", function () {
        if (input.checked && state.models.length >= 4) { input.checked = false; $("cmp-status").textContent = "At most 4 models."; return; }
        state.models = input.checked ? state.models.concat([name]) : state.models.filter(function (m) { return m !== name; });
        render();
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + style(name).name));
      box.appendChild(label);
    });
    var backends = new Set();
    boardRows().forEach(function (r) { if (r.backend) backends.add(r.backend); });
    var select = $("cmp-backend");
    select.textContent = "";
    ["any"].concat(Array.from(backends).sort()).forEach(function (b) {
      var option = document.createElement("option");
      option.value = b;
      option.textContent = b === "any" ? "any (each model's best)" : b;
      select.appendChild(option);
    });
    if (!backends.has(state.backend)) state.backend = "any";
    select.value = state.backend;
  }

  /* Load the chosen board's rows (its data script), then draw. */
  function loadBoard() {
    var board = BOARDS.get(state.board);
    if (!board) return Promise.resolve();
    if (loaded && loaded.slug === board.slug) return Promise.resolve();
    $("cmp-status").textContent = "Loading the rows of " + board.task_name + " on " + board.label + "…";
    var name = "board:" + board.slug;
    return window.LBData.load(board.data, name).then(function () {
      loaded = { slug: board.slug, rows: window.LBData.boardRows(name) };
    }, function (error) {
      $("cmp-status").textContent = "The rows of this board did not load (" + error.message + ").";
      throw error;
    });
  }

  function diffText(value, base, col) {
    if (!number(value) || !number(base) || base === 0) return "";
    var change = (value - base) / Math.abs(base) * 100;
    if (Math.abs(change) < 0.05) return "same";
    var word = col.better === "none" ? "" : ((col.better === "lower") === (change < 0) ? " (better)" : " (worse)");
    return (change > 0 ? "+" : "") + LB.formatNumber(change, 2) + "%" + word;
  }

  function renderTable(chosen) {
    var table = $("cmp-table");
    var head = ["Metric"].concat(chosen.map(function (c) { return c.row ? c.row.model : style(c.model).name; }));
    var body = [];
    body.push(["Configuration"].concat(chosen.map(function (c) {
      return c.row ? (c.row.method && c.row.method.indexOf("steady") === 0 ? "steady state, " : "") + (c.row.configuration || "not published") + (c.row.backend ? ", " + c.row.backend : "") + (c.row.source === "published" ? ", published" : "") : "no row";
    })));
    var best = {};
    COLUMNS.forEach(function (col) {
      var values = chosen.map(function (c) { return c.row ? c.row[col.key] : null; }).filter(number);
      if (values.length > 1 && col.better !== "none") best[col.key] = col.better === "lower" ? Math.min.apply(null, values) : Math.max.apply(null, values);
    });
    LB.fillTable(table, head, []);
    var tbody = table.tBodies[0];
    var config = document.createElement("tr");
    body[0].forEach(function (cell, i) { var el = document.createElement(i ? "td" : "th"); if (!i) el.scope = "row"; el.textContent = cell; config.appendChild(el); });
    tbody.appendChild(config);
    var base = chosen[0] && chosen[0].row;
    COLUMNS.forEach(function (col) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-key", col.key);
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = LB.headerText(col);
      tr.appendChild(th);
      chosen.forEach(function (c, i) {
        var td = document.createElement("td");
        td.className = "n";
        var value = c.row ? c.row[col.key] : null;
        td.textContent = number(value) ? LB.formatNumber(value, col.digits) : (c.row ? LB.missingText(c.row, col) : "—");
        if (number(value)) td.setAttribute("data-value", String(value));
        else td.classList.add("nm");
        if (number(value) && best[col.key] === value) td.classList.add("compare-better");
        if (i > 0 && base) {
          var diff = diffText(value, base[col.key], col);
          if (diff) { var span = document.createElement("span"); span.className = "diff"; span.textContent = diff + " vs " + base.model; td.appendChild(span); }
        }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
  }

  function renderLegend(container) {
    var legend = document.createElement("div");
    legend.className = "legend";
    legend.setAttribute("role", "group");
    legend.setAttribute("aria-label", "Models compared");
    var list = document.createElement("ul");
    list.className = "legend-models";
    state.models.forEach(function (name) {
      var look = style(name);
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "legend-item";
      button.setAttribute("data-model", name);
      button.setAttribute("aria-pressed", "false");
      var swatch = document.createElement("span");
      swatch.setAttribute("aria-hidden", "true");
      swatch.style.cssText = "display:inline-block;width:12px;height:12px;border-radius:50%;background:" + look.color;
      button.appendChild(swatch);
      button.appendChild(document.createTextNode(look.name));
      li.appendChild(button);
      list.appendChild(li);
    });
    legend.appendChild(list);
    container.appendChild(legend);
    window.LBCharts.wireLegends(legend);
  }

  function renderCharts() {
    views.forEach(function (v) { window.LBCharts.release(v); });
    views = [];
    var box = $("cmp-charts");
    box.textContent = "";
    var colByKey = {};
    DATA.columns.forEach(function (c) { colByKey[c.key] = c; });
    var rendered = [];
    CHART_KEYS.forEach(function (key) {
      var points = [];
      state.models.forEach(function (name) {
        // One line per model, backend and GPU count, through its batch sizes (or batch caps).
        var perPoint = new Map();
        rowsOf(name).forEach(function (r) {
          var batch = number(r.batch_size) ? r.batch_size : r.max_num_seqs;
          if (!number(r[key]) || !number(batch)) return;
          var slot = [r.backend, r.num_devices, batch].join("|");
          var current = perPoint.get(slot);
          var lower = colByKey[key].better !== "higher";
          if (!current || (lower ? r[key] < current[key] : r[key] > current[key])) perPoint.set(slot, r);
        });
        perPoint.forEach(function (r) {
          points.push({
            model: r.model, model_name: name, batch_size: number(r.batch_size) ? r.batch_size : r.max_num_seqs,
            backend: r.backend || "", num_devices: r.num_devices, configuration: r.configuration || "",
            y: r[key], color: style(name).color, shape: style(name).shape,
          });
        });
      });
      var title = LB.headerText(colByKey[key]) + " against batch size";
      var figure = document.createElement("figure");
      figure.className = "chart-box";
      var target = document.createElement("div");
      target.className = "chart";
      target.id = "cmp-chart-" + key;
      target.setAttribute("role", "img");
      target.setAttribute("aria-label", title);
      figure.appendChild(target);
      var caption = document.createElement("figcaption");
      caption.className = "chart-note";
      caption.textContent = points.length + " point(s) drawn";
      figure.appendChild(caption);
      box.appendChild(figure);
      if (!points.length) { target.textContent = "Nothing to draw: " + colByKey[key].label.toLowerCase() + " not measured for these models."; target.setAttribute("data-rendered", "empty"); return; }
      var spec = JSON.parse(JSON.stringify(DATA.template));
      spec.title = LB.wrapTitle(title);
      spec.datasets = { points: points };
      spec.layer.forEach(function (layer) {
        layer.encoding.y.axis = LB.axis(LB.headerText(colByKey[key]));
        (layer.encoding.tooltip || []).forEach(function (t) { if (t.field === "y") t.title = LB.headerText(colByKey[key]); });
      });
      target.setAttribute("data-description", "one line per model through its batch sizes");
      rendered.push(window.LBCharts.embed(target, spec, title).then(function (result) { if (result) views.push(result); }));
    });
    renderLegend(box.parentNode.insertBefore(document.createElement("div"), box));
    return Promise.all(rendered);
  }

  function render() {
    writeHash();
    var old = document.querySelectorAll("#cmp-result > div:not(.table-wrap):not(#cmp-charts)");
    Array.prototype.forEach.call(old, function (el) { el.remove(); });
    var refused = rejected.length ? " Not models of this board, left out: " + rejected.join(", ") + "." : "";
    if (state.models.length < 2) {
      $("cmp-status").textContent = "Pick 2 to 4 models to compare (" + state.models.length + " picked)." + refused;
      $("cmp-result").hidden = true;
      return Promise.resolve();
    }
    $("cmp-status").textContent = state.models.length + " models compared on this board." + refused;
    $("cmp-result").hidden = false;
    var chosen = state.models.map(function (name) { return { model: name, row: bestRow(name) }; });
    renderTable(chosen);
    return renderCharts();
  }

  function show() {
    $("cmp-result").setAttribute("aria-busy", "true");
    var done = function () { $("cmp-result").setAttribute("aria-busy", "false"); };
    return loadBoard().then(function () { renderControls(); return render(); }, function () { /* said in the status */ }).then(done, done);
  }

  $("cmp-board").addEventListener("change", function (e) {
    state.board = e.target.value;
    var board = BOARDS.get(state.board);
    rejected = [];
    state.models = board ? withTop(state.models.filter(function (m) { return board.models.indexOf(m) >= 0; }), board) : [];
    show();
  });
  $("cmp-backend").addEventListener("change", function (e) { state.backend = e.target.value; render(); });
  window.addEventListener("hashchange", function () { readHash(); show(); });
  readHash();
  var ready = show();
  window.LBCompare = { state: state, bestRow: bestRow, ready: function () { return ready; }, rejected: function () { return rejected.slice(); } };
})();
