/* Render every Vega-Lite spec of the page with the vendored vega-embed (no network, no fetch),
 * keep each chart's accessible name, and highlight one model in every chart of the page at once:
 * hovering a mark or a legend entry highlights its model (the `hl` signal of each chart),
 * pressing a legend entry keeps it highlighted.
 *
 * A board's charts carry no data: they read the page's one set of rows (`rows`, decoded once by
 * data.js from the board's data script) and filter it themselves. They are drawn one after the
 * other once the table is up (a chart of many points on a canvas, else as SVG), and the table of
 * a chart's points is built when the reader opens it. A dark colour scheme gets dark charts. */
(function () {
  "use strict";
  var CANVAS_FROM = 400;  // points: more than this, the chart is drawn on a canvas
  var DARK = !!(window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  var INK = DARK ? "#c9d1d9" : null;
  var DARK_CONFIG = {
    background: null,
    view: { stroke: "#444c56" },
    title: { color: INK, subtitleColor: "#9aa4ae" },
    axis: { labelColor: INK, titleColor: INK, gridColor: "#30363d", domainColor: "#6e7681", tickColor: "#6e7681" },
    legend: { labelColor: INK, titleColor: INK },
    text: { color: INK },
  };
  var views = [];
  var pinned = null;
  var hovered = null;
  var own = Object.prototype.hasOwnProperty;

  function setSignal(view, value) {
    try { view.signal("hl", value).runAsync(); } catch (error) { /* a chart without the signal */ }
  }

  function apply() {
    var model = hovered !== null ? hovered : pinned;
    views.forEach(function (view) { setSignal(view, model); });
    Array.prototype.forEach.call(document.querySelectorAll(".legend-item"), function (button) {
      button.setAttribute("aria-pressed", button.getAttribute("data-model") === pinned ? "true" : "false");
      button.classList.toggle("is-hovered", button.getAttribute("data-model") === hovered);
    });
  }

  function highlight(model) { hovered = model || null; apply(); }
  function pin(model) { pinned = pinned === model ? null : model; apply(); }

  /* vega-embed labels its container "Vega visualization" (and gives it a graphics role):
   * put back the chart's own name and description. */
  function label(target, name) {
    var description = target.getAttribute("data-description");
    target.setAttribute("role", "img");
    target.setAttribute("aria-label", description ? name + ". " + description : name);
    target.removeAttribute("aria-roledescription");
    var svg = target.querySelector("svg");
    if (svg) {
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("focusable", "false");
    }
  }

  /* Dark charts: light ink for the marks drawn in the page's ink (fronts, roofs). */
  function darken(spec) {
    if (!DARK || !spec || typeof spec !== "object") return spec;
    (spec.layer || []).forEach(function (layer) {
      if (layer.mark && (layer.mark.color === "#444" || layer.mark.color === "#555")) layer.mark.color = INK;
      darken(layer);
    });
    return spec;
  }

  function embed(target, spec, name, points) {
    var accessibleName = name || target.getAttribute("aria-label") || "chart";
    target.setAttribute("data-name", accessibleName);
    if (!window.vegaEmbed) {
      target.textContent = "charts need static/vega-bundle.js, which did not load";
      target.setAttribute("data-rendered", "failed");
      return Promise.resolve(null);
    }
    var count = points !== undefined ? points : Number(target.getAttribute("data-points") || 0);
    var options = { actions: false, renderer: count > CANVAS_FROM ? "canvas" : "svg" };
    if (DARK) { options.config = DARK_CONFIG; options.tooltip = { theme: "dark" }; }
    return window.vegaEmbed(target, darken(spec), options).then(function (result) {
      label(target, accessibleName);
      var view = result.view;
      views.push(view);
      view.addEventListener("pointerover", function (event, item) {
        if (item && item.datum && item.datum.model_name) highlight(item.datum.model_name);
      });
      view.addEventListener("pointerout", function (event, item) {
        if (item && item.datum && item.datum.model_name) highlight(null);
      });
      setSignal(view, hovered !== null ? hovered : pinned);
      target.setAttribute("data-renderer", options.renderer);
      target.setAttribute("data-rendered", "1");
      return result;
    }).catch(function (error) {
      target.textContent = "chart failed: " + error;
      target.setAttribute("data-rendered", "failed");
      console.error(error);
      return null;
    });
  }

  function release(result) {
    if (!result) return;
    views = views.filter(function (view) { return view !== result.view; });
    result.finalize();
  }

  /* ---------- the tables of a chart's points, built when opened ---------- */
  var SPREAD_UNITS = { batches: true, requests: true };
  function number(v) { return typeof v === "number" && isFinite(v); }
  function format(value, digits) { return window.LB ? window.LB.formatNumber(value, digits) : String(value); }

  function valueText(row, key, unit) {
    var value = row[key];
    if (!number(value)) return "not measured";
    var text = format(value, 4);
    var sd = row[key + "_sd"];
    if (unit && SPREAD_UNITS[unit] && number(sd) && sd > 0) text += " ± " + format(sd, 2) + " (n = " + row[key + "_n"] + " " + unit + ")";
    return text;
  }

  /* The rows a view draws (the same filter its spec applies) as table cells. */
  function pointRows(view, rows) {
    var match = view.match || {};
    var matchKeys = Object.keys(match);
    return rows.filter(function (row) {
      if (view.measured && row.source === "published") return false;
      for (var i = 0; i < matchKeys.length; i += 1) if (row[matchKeys[i]] !== match[matchKeys[i]]) return false;
      return view.numbers.every(function (key) { return number(row[key]); }) &&
        view.positive.every(function (key) { return row[key] > 0; });
    }).map(function (row) {
      return view.columns.map(function (column) {
        var key = column[1];
        if (column[2] === "value") return valueText(row, key, column[3]);
        if (column[2] === "front") return row[key] ? "on the Pareto front" : "dominated";
        return row[key] === null || row[key] === undefined ? "" : String(row[key]);
      });
    });
  }

  function wireTables(viewsOf, rows) {
    Array.prototype.forEach.call(document.querySelectorAll("details[data-points-of]"), function (details) {
      var id = details.getAttribute("data-points-of");
      if (!own.call(viewsOf, id)) return;
      var build = function () {
        if (!details.open || details.hasAttribute("data-built")) return;
        details.setAttribute("data-built", "1");
        var view = viewsOf[id];
        var table = details.querySelector("table");
        window.LB.fillTable(table, view.columns.map(function (c) { return c[0]; }), pointRows(view, rows));
      };
      details.addEventListener("toggle", build);
      build();
    });
  }

  /* ---------- every chart of the page ---------- */
  function sharedRows(views) {
    return views && views.dataset && window.LBData ? window.LBData.boardRows(views.dataset) : null;
  }

  function embedAll() {
    var holder = document.getElementById("lb-specs");
    if (!holder) return Promise.resolve();
    var specs = JSON.parse(holder.textContent);
    var viewHolder = document.getElementById("lb-views");
    var viewInfo = viewHolder ? JSON.parse(viewHolder.textContent) : null;
    var rows = sharedRows(viewInfo);
    if (rows && viewInfo) wireTables(viewInfo.views || {}, rows);
    var ids = Object.keys(specs).filter(function (id) { return document.getElementById(id); });
    // One chart per task, so the page answers between charts.
    return ids.reduce(function (previous, id) {
      return previous.then(function () {
        return new Promise(function (resolve) { setTimeout(resolve, 0); }).then(function () {
          var spec = specs[id];
          if (rows && spec.data && spec.data.name === "rows") spec.datasets = { rows: rows };
          else if (rows && (spec.layer || []).some(function (l) { return l.data && l.data.name === "rows"; })) spec.datasets = { rows: rows };
          return embed(document.getElementById(id), spec);
        });
      });
    }, Promise.resolve());
  }

  function wireLegends(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(".legend-item"), function (button) {
      if (button.hasAttribute("data-wired")) return;
      button.setAttribute("data-wired", "1");
      var model = button.getAttribute("data-model");
      button.addEventListener("mouseenter", function () { highlight(model); });
      button.addEventListener("mouseleave", function () { highlight(null); });
      button.addEventListener("focus", function () { highlight(model); });
      button.addEventListener("blur", function () { highlight(null); });
      button.addEventListener("click", function () { pin(model); });
    });
  }

  window.LBCharts = {
    embed: embed, embedAll: embedAll, release: release, highlight: highlight, pin: pin,
    views: function () { return views.slice(); },
    current: function () { return hovered !== null ? hovered : pinned; },
    wireLegends: wireLegends, dark: DARK, pointRows: pointRows, CANVAS_FROM: CANVAS_FROM,
  };
  wireLegends();
  // After the page's other scripts have run (the table first), draw the charts.
  setTimeout(embedAll, 0);
})();
