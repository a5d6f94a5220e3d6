/* One task on every hardware.
 *
 * The ranking across GPUs: tick GPUs and GPU counts, set a latency deadline (on request
 * latency, time to first token or time per output token, at the statistic chosen) and an energy
 * budget; per model (a published source's rows apart from measured ones), the configuration with
 * the lowest energy per response among those that meet both (without energy: the lowest
 * latency). The chart of every hardware: one point per (model, hardware) at the configuration
 * the control picks, a line joining the same model across hardware, on the GPUs ticked above.
 * Both live in the URL hash (hw, n, lat, deadline, budget, y, x, config). */
(function () {
  "use strict";
  var holder = document.getElementById("cross-data");
  if (!holder) return;
  var DATA = JSON.parse(holder.textContent);
  var LB = window.LB;
  var ROWS = window.LBData.rows(DATA.rows);
  var STYLES = DATA.styles || {};
  var own = Object.prototype.hasOwnProperty;
  ROWS.forEach(function (row) {
    var style = own.call(STYLES, row.model_name) ? STYLES[row.model_name] : null;
    row.color = style ? style.color : "#1f77b4";
    row.shape = style ? style.shape : "circle";
  });
  var $ = function (id) { return document.getElementById(id); };
  var HIGHER = { throughput_tok_s: true, tokens_per_j: true };
  var DEADLINE_KEYS = {
    "request.mean": "latency_s", "request.p50": "latency_p50_s", "request.p90": "latency_p90_s", "request.p99": "latency_p99_s",
    "ttft.mean": "ttft_s", "ttft.p50": "ttft_p50_s", "ttft.p90": "ttft_p90_s", "ttft.p99": "ttft_p99_s",
    "itl.mean": "tpot_s", "itl.p50": "itl_median_s", "itl.p90": "itl_p90_s", "itl.p95": "itl_p95_s", "itl.p99": "itl_p99_s",
  };
  var LABEL_POINTS = 80;  // the chart names the hardware beside each point up to this many points
  var view = null;
  var token = 0;

  function number(v) { return typeof v === "number" && isFinite(v); }
  function ticked(selector) {
    return Array.prototype.filter.call(document.querySelectorAll(selector), function (b) { return b.checked; })
      .map(function (b) { return b.value; });
  }
  function gpuValue(row) { return number(row.num_devices) ? String(row.num_devices) : "na"; }
  function hasCounts() { return document.querySelectorAll(".count-toggle").length > 0; }

  /* The rows on the ticked GPUs and GPU counts. */
  function tickedRows() {
    var hardware = ticked(".hw-toggle");
    var counts = hasCounts() ? ticked(".count-toggle") : null;
    return ROWS.filter(function (row) {
      return hardware.indexOf(row.hardware) >= 0 && (!counts || counts.indexOf(gpuValue(row)) >= 0);
    });
  }

  function limit(id) {
    var value = parseFloat($(id).value);
    return isFinite(value) && value > 0 ? value : null;
  }
  function latencyKey() { return DEADLINE_KEYS[$("rank-latency").value] || "latency_s"; }

  /* ---------- the ranking ---------- */
  function groupOf(row) { return row.source === "published" ? row.model_name + "|published|" + row.source_id : row.model_name; }

  /* {ranked: [row], missing: [model name]}: per model of the task, the best of `rows` (those
   * on the ticked GPUs) within the limits; `missing` names the models with none. */
  function ranking(rows, key, deadline, budget) {
    var groups = new Map();
    ROWS.forEach(function (row) { if (!groups.has(groupOf(row))) groups.set(groupOf(row), { model: row.model, best: null }); });
    rows.forEach(function (row) {
      if (deadline !== null && !(number(row[key]) && row[key] <= deadline)) return;
      if (budget !== null && !(number(row.energy_per_response_j) && row.energy_per_response_j <= budget)) return;
      var group = groups.get(groupOf(row));
      if (!group.best || better(row, group.best, key)) group.best = row;
    });
    var ranked = [], missing = [];
    groups.forEach(function (group) { if (group.best) ranked.push(group.best); else missing.push(group.model); });
    ranked.sort(function (a, b) { return better(a, b, key) ? -1 : better(b, a, key) ? 1 : window.LBData.naturalCompare(a.model, b.model); });
    missing.sort(window.LBData.naturalCompare);
    return { ranked: ranked, missing: missing };
  }

  /* Lower energy per response wins (a row without energy loses to one with), then lower latency. */
  function better(a, b, key) {
    var ea = number(a.energy_per_response_j) ? a.energy_per_response_j : Infinity;
    var eb = number(b.energy_per_response_j) ? b.energy_per_response_j : Infinity;
    if (ea !== eb) return ea < eb;
    var la = number(a[key]) ? a[key] : Infinity, lb = number(b[key]) ? b[key] : Infinity;
    return la < lb;
  }

  function cell(tr, text, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function renderRanking() {
    var key = latencyKey();
    var deadline = limit("rank-deadline"), budget = limit("rank-budget");
    var rows = tickedRows();
    var result = ranking(rows, key, deadline, budget);
    var latencyTitle = $("rank-latency").selectedOptions[0] ? $("rank-latency").selectedOptions[0].textContent : "latency";
    var heads = ["#", "Model", "GPU", "GPUs", "Configuration", "Backend", "Energy / response (J)",
      latencyTitle.charAt(0).toUpperCase() + latencyTitle.slice(1) + " (s)", "Throughput (tok/s)", "Accuracy avg (0–1)"];
    var table = $("rank-table");
    LB.fillTable(table, heads, []);
    var body = table.tBodies[0];
    result.ranked.forEach(function (row, index) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-model", row.model_name);
      tr.setAttribute("data-row-id", row.row_id);
      cell(tr, String(index + 1), "n");
      var name = cell(tr, "");
      var link = document.createElement("a");
      link.href = "../models/" + encodeURIComponent(row.model_slug) + ".html";
      link.textContent = row.model;
      name.appendChild(link);
      if (row.random_weights) name.appendChild(badge("random weights", "badge-random"));
      if (row.source === "published") name.appendChild(badge("published", "badge-published", "published: " + row.citation));
      var board = cell(tr, "");
      var boardLink = document.createElement("a");
      boardLink.href = "../boards/" + encodeURIComponent(row.board_slug) + ".html";
      boardLink.textContent = row.hardware_label;
      board.appendChild(boardLink);
      cell(tr, number(row.num_devices) ? String(row.num_devices) : "not published", "n" + (number(row.num_devices) ? "" : " nm"));
      cell(tr, row.configuration || "");
      cell(tr, row.backend || "");
      [["energy_per_response_j", 4], [key, 4], ["throughput_tok_s", 4], ["accuracy_avg", 3]].forEach(function (pair) {
        var value = row[pair[0]];
        var td = cell(tr, number(value) ? LB.formatNumber(value, pair[1]) : (row.source === "published" ? "not published" : "not measured"), "n");
        if (number(value)) td.setAttribute("data-value", String(value)); else td.classList.add("nm");
        td.setAttribute("data-key", pair[0]);
      });
      body.appendChild(tr);
    });
    var hardware = ticked(".hw-toggle").length;
    var limits = [deadline !== null ? latencyTitle + " ≤ " + LB.formatNumber(deadline, 3) + " s" : "", budget !== null ? "energy ≤ " + LB.formatNumber(budget, 3) + " J per response" : ""].filter(Boolean);
    $("rank-status").textContent = result.ranked.length + " model(s) ranked over " + rows.length + " configuration(s) on " + hardware + " GPU type(s)" +
      (limits.length ? " within " + limits.join(" and ") : "") + "." +
      (result.missing.length ? " No configuration of " + result.missing.join(", ") + " on these GPUs meets these limits." : "");
    return result;
  }

  function badge(text, cls, title) {
    var span = document.createElement("span");
    span.className = "badge " + cls;
    span.textContent = text;
    if (title) span.title = title;
    return span;
  }

  /* ---------- the chart of every hardware ---------- */
  /* Per (model, hardware, source), the point to draw: a given batch size, or the best y. */
  function pick(yKey, xKey, config, rows) {
    var best = new Map();
    rows.forEach(function (p) {
      if (!number(p[yKey]) || !number(p[xKey])) return;
      if (config !== "best" && String(p.batch_size) !== config) return;
      var key = p.model_name + "|" + p.hardware + "|" + (p.source_id || "");
      var current = best.get(key);
      var wins = !current || (HIGHER[yKey] ? p[yKey] > current[yKey] : p[yKey] < current[yKey]);
      if (wins) best.set(key, p);
    });
    return Array.from(best.values());
  }

  /* The first option of a select whose key some row has a number for (no empty default view). */
  function firstWithValues(select) {
    var found = Array.prototype.find.call(select.options, function (o) {
      return ROWS.some(function (p) { return number(p[o.value]); });
    });
    if (found) select.value = found.value;
  }

  function renderChart() {
    var yKey = $("cross-y").value, xKey = $("cross-x").value, config = $("cross-config").value;
    var rows = tickedRows();
    var chosen = pick(yKey, xKey, config, rows);
    var label = chosen.length <= LABEL_POINTS;
    var points = chosen.map(function (p) {
      return {
        model: p.model, model_name: p.model_name, hardware_label: p.hardware_label, configuration: p.configuration || "",
        backend: p.backend, x: p[xKey], y: p[yKey], color: p.color, shape: p.shape, hw_text: label ? p.hardware_label : "",
      };
    });
    var shown = new Set(chosen.map(function (p) { return p.hardware; }));
    var empty = ticked(".hw-toggle").filter(function (h) { return !shown.has(h); });
    var yTitle = DATA.columns[yKey] || yKey, xTitle = DATA.columns[xKey] || xKey;
    $("chart-cross-note").textContent = points.length + " point(s) on " + shown.size + " hardware" +
      (empty.length ? "; nothing to draw for " + empty.map(function (h) { return DATA.hardware[h] ? DATA.hardware[h].label : h; }).join(", ") +
        " (" + yTitle.toLowerCase() + " or " + xTitle.toLowerCase() + " not measured)" : "") + ".";
    LB.fillTable($("chart-cross-table"), ["Model", "Hardware", "Configuration", "Backend", xTitle, yTitle], chosen.map(function (p) {
      return [p.model, p.hardware_label, p.configuration || "batch " + (p.batch_size === null || p.batch_size === undefined ? "not published" : p.batch_size), p.backend, LB.formatNumber(p[xKey], 4), LB.formatNumber(p[yKey], 4)];
    }));
    var target = $("chart-cross");
    var current = ++token;
    if (view) { window.LBCharts.release(view); view = null; }
    if (!points.length) {
      target.textContent = "No points to draw: tick a hardware with " + yTitle.toLowerCase() + " measured.";
      target.setAttribute("data-rendered", "empty");
      return;
    }
    var spec = JSON.parse(JSON.stringify(DATA.template));
    spec.datasets = { points: points };
    spec.title = LB.wrapTitle(yTitle + " against " + xTitle);
    var logX = spans(points, "x"), logY = spans(points, "y");
    spec.layer.forEach(function (layer) {
      layer.encoding.x.axis = LB.axis(xTitle);
      layer.encoding.y.axis = LB.axis(yTitle);
      if (logX) layer.encoding.x.scale = { type: "log" };
      if (logY) layer.encoding.y.scale = { type: "log" };
      (layer.encoding.tooltip || []).forEach(function (t) {
        if (t.field === "x") t.title = xTitle;
        if (t.field === "y") t.title = yTitle;
      });
    });
    target.textContent = "";
    target.removeAttribute("data-rendered");
    target.setAttribute("data-description", points.length + " points: one per model and hardware" + (logX || logY ? "; log scale" : "") + ".");
    window.LBCharts.embed(target, spec, DATA.task_name + ": " + yTitle + " against " + xTitle + " on every hardware", points.length).then(function (result) {
      if (current !== token) { window.LBCharts.release(result); return; }
      view = result;
    });
  }

  /* Log scale where the positive values span more than 30× (as the built charts). */
  function spans(points, axisName) {
    var values = points.map(function (p) { return p[axisName]; });
    var min = Math.min.apply(null, values), max = Math.max.apply(null, values);
    return min > 0 && max / min > 30;
  }

  /* ---------- URL state ---------- */
  function setTicks(selector, values) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), function (b) {
      b.checked = values === null || values.indexOf(b.value) >= 0;
    });
  }

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    firstWithValues($("cross-y"));
    firstWithValues($("cross-x"));
    setTicks(".hw-toggle", params.getAll("hw").length ? params.getAll("hw") : null);
    setTicks(".count-toggle", params.getAll("n").length ? params.getAll("n") : null);
    var lat = params.get("lat");
    if (lat && Array.prototype.some.call($("rank-latency").options, function (o) { return o.value === lat; })) $("rank-latency").value = lat;
    ["deadline", "budget"].forEach(function (name) {
      var value = parseFloat(params.get(name));
      $("rank-" + name).value = isFinite(value) && value > 0 ? String(value) : "";
    });
    ["y", "x", "config"].forEach(function (name) {
      var value = params.get(name);
      var select = $("cross-" + name);
      if (value && Array.prototype.some.call(select.options, function (o) { return o.value === value; })) select.value = value;
    });
  }

  function writeHash() {
    var params = new URLSearchParams();
    var all = function (selector) { return Array.prototype.every.call(document.querySelectorAll(selector), function (b) { return b.checked; }); };
    if (!all(".hw-toggle")) { var hw = ticked(".hw-toggle"); (hw.length ? hw : ["-"]).forEach(function (h) { params.append("hw", h); }); }
    if (!all(".count-toggle")) { var n = ticked(".count-toggle"); (n.length ? n : ["-"]).forEach(function (c) { params.append("n", c); }); }
    if ($("rank-latency").selectedIndex > 0) params.set("lat", $("rank-latency").value);
    if (limit("rank-deadline") !== null) params.set("deadline", String(limit("rank-deadline")));
    if (limit("rank-budget") !== null) params.set("budget", String(limit("rank-budget")));
    params.set("y", $("cross-y").value);
    params.set("x", $("cross-x").value);
    params.set("config", $("cross-config").value);
    var hash = "#" + params.toString();
    if (location.hash !== hash) {
      try { history.replaceState(null, "", hash); } catch (e) { /* file:// in some browsers */ }
    }
  }

  function render() {
    writeHash();
    renderRanking();
    renderChart();
  }

  function reset() {
    setTicks(".hw-toggle", null);
    setTicks(".count-toggle", null);
    $("rank-latency").selectedIndex = 0;
    $("rank-deadline").value = "";
    $("rank-budget").value = "";
    render();
  }

  readHash();
  Array.prototype.forEach.call(document.querySelectorAll(".hw-toggle, .count-toggle, #rank-latency, #cross-y, #cross-x, #cross-config"), function (el) {
    el.addEventListener("change", render);
  });
  ["rank-deadline", "rank-budget"].forEach(function (id) { $(id).addEventListener("input", render); });
  $("rank-reset").addEventListener("click", reset);
  $("rank-share").addEventListener("click", function () {
    var done = function () { $("rank-share").textContent = "Link copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(location.href).then(done, function () { window.prompt("Copy this link", location.href); });
    } else window.prompt("Copy this link", location.href);
  });
  window.addEventListener("hashchange", function () { readHash(); render(); });
  render();
  window.LBCross = { pick: pick, render: render, ranking: ranking, rows: function () { return ROWS; }, reset: reset };
})();
