/* Compare 2 to 4 models on one board: their rows side by side with the differences, and charts
 * against batch size. The choice lives in the URL hash (board, m repeated, backend), so a link
 * reproduces it. */
(function () {
  "use strict";
  var holder = document.getElementById("compare-data");
  if (!holder) return;
  var DATA = JSON.parse(holder.textContent);
  // Rows come columnar (keys once): back to one object per row.
  DATA.rows = DATA.rows.rows.map(function (values) {
    var row = {};
    DATA.rows.keys.forEach(function (key, i) { row[key] = values[i]; });
    return row;
  });
  var LB = window.LB;
  var $ = function (id) { return document.getElementById(id); };
  var COLUMNS = DATA.columns.filter(function (c) { return c.kind === "number" && c.level === "basic"; });
  var CHART_KEYS = ["energy_per_response_j", "latency_s", "throughput_tok_s"];
  var state = { board: DATA.busiest[""] || (DATA.boards[0] && DATA.boards[0].slug), models: [], backend: "any" };
  var views = [];

  function number(v) { return typeof v === "number" && isFinite(v); }
  function boardRows() { return DATA.rows.filter(function (r) { return r.board_slug === state.board; }); }

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

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var board = params.get("board");
    if (board && DATA.boards.some(function (b) { return b.slug === board; })) state.board = board;
    state.models = params.getAll("m").slice(0, 4);
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
    var names = {};
    boardRows().forEach(function (r) { names[r.model_name] = r.model; });
    state.models = state.models.filter(function (m) { return names[m] !== undefined; });
    var box = $("cmp-models");
    Array.prototype.slice.call(box.querySelectorAll("label")).forEach(function (l) { l.remove(); });
    Object.keys(names).sort(function (a, b) { return names[a].localeCompare(names[b]); }).forEach(function (name) {
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
      label.appendChild(document.createTextNode(" " + names[name]));
      box.appendChild(label);
    });
    var backends = {};
    boardRows().forEach(function (r) { if (r.backend) backends[r.backend] = true; });
    var select = $("cmp-backend");
    select.textContent = "";
    ["any"].concat(Object.keys(backends).sort()).forEach(function (b) {
      var option = document.createElement("option");
      option.value = b;
      option.textContent = b === "any" ? "any (each model's best)" : b;
      select.appendChild(option);
    });
    if (!backends[state.backend]) state.backend = "any";
    select.value = state.backend;
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
    var head = ["Metric"].concat(chosen.map(function (c) { return c.row ? c.row.model : c.model; }));
    var body = [];
    body.push(["Configuration"].concat(chosen.map(function (c) {
      return c.row ? (c.row.method && c.row.method.indexOf("steady") === 0 ? c.row.method : "batch " + (c.row.batch_size === null ? "not published" : c.row.batch_size)) + (c.row.backend ? ", " + c.row.backend : "") + (c.row.source === "published" ? ", published" : "") : "no row";
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
      var style = DATA.styles[name] || { color: "#1f77b4", name: name };
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "legend-item";
      button.setAttribute("data-model", name);
      button.setAttribute("aria-pressed", "false");
      var swatch = document.createElement("span");
      swatch.setAttribute("aria-hidden", "true");
      swatch.style.cssText = "display:inline-block;width:12px;height:12px;border-radius:50%;background:" + style.color;
      button.appendChild(swatch);
      button.appendChild(document.createTextNode(style.name));
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
        var perBatch = {};
        rowsOf(name).forEach(function (r) {
          if (!number(r[key]) || r.batch_size === null) return;
          var current = perBatch[r.batch_size];
          var lower = colByKey[key].better !== "higher";
          if (!current || (lower ? r[key] < current[key] : r[key] > current[key])) perBatch[r.batch_size] = r;
        });
        Object.keys(perBatch).forEach(function (b) {
          var r = perBatch[b];
          var style = DATA.styles[name] || { color: "#1f77b4", shape: "circle" };
          points.push({ model: r.model, model_name: name, batch_size: r.batch_size, backend: r.backend, y: r[key], color: style.color, shape: style.shape });
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
    if (state.models.length < 2) {
      $("cmp-status").textContent = "Pick 2 to 4 models to compare (" + state.models.length + " picked).";
      $("cmp-result").hidden = true;
      return;
    }
    $("cmp-status").textContent = state.models.length + " models compared on this board.";
    $("cmp-result").hidden = false;
    var chosen = state.models.map(function (name) { return { model: name, row: bestRow(name) }; });
    renderTable(chosen);
    renderCharts();
  }

  $("cmp-board").addEventListener("change", function (e) { state.board = e.target.value; renderControls(); render(); });
  $("cmp-backend").addEventListener("change", function (e) { state.backend = e.target.value; render(); });
  window.addEventListener("hashchange", function () { readHash(); renderControls(); render(); });
  readHash();
  renderControls();
  render();
  window.LBCompare = { state: state, bestRow: bestRow };
})();
