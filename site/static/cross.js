/* One task on every hardware: one point per (model, hardware) at the configuration the control
 * picks, a line joining the same model across hardware, hardware checkboxes; the view lives in
 * the URL hash (hw, y, x, config). */
(function () {
  "use strict";
  var holder = document.getElementById("cross-data");
  if (!holder) return;
  var DATA = JSON.parse(holder.textContent);
  var LB = window.LB;
  var $ = function (id) { return document.getElementById(id); };
  var view = null;
  var token = 0;
  var HIGHER = { throughput_tok_s: true, tokens_per_j: true };

  function number(v) { return typeof v === "number" && isFinite(v); }

  function checkedHardware() {
    return Array.prototype.filter.call(document.querySelectorAll(".hw-toggle"), function (b) { return b.checked; })
      .map(function (b) { return b.value; });
  }

  /* Per (model, hardware, source), the point to draw: a given batch size, or the best y. */
  function pick(yKey, xKey, config, hardware) {
    var best = new Map();
    DATA.points.forEach(function (p) {
      if (hardware.indexOf(p.hardware) < 0 || !number(p[yKey]) || !number(p[xKey])) return;
      if (config !== "best" && String(p.batch_size) !== config) return;
      var key = p.model_name + "|" + p.hardware + "|" + (p.source || "");
      var current = best.get(key);
      var better = !current || (HIGHER[yKey] ? p[yKey] > current[yKey] : p[yKey] < current[yKey]);
      if (better) best.set(key, p);
    });
    return Array.from(best.values());
  }

  /* The first option of a select whose key some point has a number for (no empty default view). */
  function firstWithValues(select) {
    var found = Array.prototype.find.call(select.options, function (o) {
      return DATA.points.some(function (p) { return number(p[o.value]); });
    });
    if (found) select.value = found.value;
  }

  function readHash() {
    firstWithValues($("cross-y"));
    firstWithValues($("cross-x"));
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var hw = params.getAll("hw");
    if (hw.length) Array.prototype.forEach.call(document.querySelectorAll(".hw-toggle"), function (b) { b.checked = hw.indexOf(b.value) >= 0; });
    ["y", "x", "config"].forEach(function (name) {
      var value = params.get(name);
      var select = $("cross-" + name);
      if (value && Array.prototype.some.call(select.options, function (o) { return o.value === value; })) select.value = value;
    });
  }

  function writeHash() {
    var params = new URLSearchParams();
    checkedHardware().forEach(function (h) { params.append("hw", h); });
    params.set("y", $("cross-y").value);
    params.set("x", $("cross-x").value);
    params.set("config", $("cross-config").value);
    try { history.replaceState(null, "", "#" + params.toString()); } catch (e) { /* file:// in some browsers */ }
  }

  function render() {
    var yKey = $("cross-y").value, xKey = $("cross-x").value, config = $("cross-config").value;
    var hardware = checkedHardware();
    var points = pick(yKey, xKey, config, hardware).map(function (p) { return Object.assign({}, p, { x: p[xKey], y: p[yKey] }); });
    var shown = new Set(points.map(function (p) { return p.hardware; }));
    var empty = hardware.filter(function (h) { return !shown.has(h); });
    var labels = {};
    DATA.points.forEach(function (p) { labels[p.hardware] = p.hardware_label; });
    var yTitle = DATA.columns[yKey] || yKey, xTitle = DATA.columns[xKey] || xKey;
    $("chart-cross-note").textContent = points.length + " point(s) on " + shown.size + " hardware" +
      (empty.length ? "; nothing to draw for " + empty.map(function (h) { return labels[h]; }).join(", ") + " (" + yTitle.toLowerCase() + " or " + xTitle.toLowerCase() + " not measured)" : "") + ".";
    LB.fillTable($("chart-cross-table"), ["Model", "Hardware", "Configuration", "Backend", xTitle, yTitle], points.map(function (p) {
      return [p.model, p.hardware_label, p.configuration || "batch " + (p.batch_size === null ? "not published" : p.batch_size), p.backend, LB.formatNumber(p.x, 4), LB.formatNumber(p.y, 4)];
    }));
    writeHash();
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
    spec.layer.forEach(function (layer) {
      layer.encoding.x.axis = LB.axis(xTitle);
      layer.encoding.y.axis = LB.axis(yTitle);
      (layer.encoding.tooltip || []).forEach(function (t) {
        if (t.field === "x") t.title = xTitle;
        if (t.field === "y") t.title = yTitle;
      });
    });
    target.textContent = "";
    target.removeAttribute("data-rendered");
    target.setAttribute("data-description", points.length + " points: one per model and hardware.");
    window.LBCharts.embed(target, spec, DATA.task + ": " + yTitle + " against " + xTitle + " on every hardware").then(function (result) {
      if (current !== token) { window.LBCharts.release(result); return; }
      view = result;
    });
  }

  readHash();
  Array.prototype.forEach.call(document.querySelectorAll(".hw-toggle, #cross-y, #cross-x, #cross-config"), function (el) {
    el.addEventListener("change", render);
  });
  render();
  window.LBCross = { pick: pick, render: render };
})();
