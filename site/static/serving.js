/* Custom formula columns on a serving page's headline table. The formula is parsed and evaluated
 * by the leaderboard's own safe parser (window.LB from leaderboard.js: no eval, no Function);
 * without it the box says so. Data comes from the inline <script id="serving-data"> (no fetch). */
(function () {
  "use strict";
  var holder = document.getElementById("serving-data");
  var table = document.getElementById("serving-table");
  if (!holder || !table) return;
  var DATA = JSON.parse(holder.textContent);
  var known = new Set(DATA.columns.map(function (c) { return c.key; }));
  var byId = new Map(DATA.rows.map(function (r) { return [r.row_id, r]; }));
  var error = document.getElementById("serving-formula-error");
  var button = document.getElementById("serving-formula-add");
  if (!window.LB || !window.LB.parse) {
    error.textContent = "formula columns need static/leaderboard.js, which did not load";
    button.disabled = true;
    return;
  }
  /* Each added column is kept in the URL hash (c=name~formula, repeated), so the link shares
   * it and a reload restores it. */
  function addColumn(event, restored) {
    var name = restored ? restored[0] : document.getElementById("serving-formula-name").value.trim() || "custom";
    var text = restored ? restored[1] : document.getElementById("serving-formula-text").value;
    var tree;
    try {
      tree = window.LB.parse(text, known);
    } catch (e) {
      error.textContent = e.message || String(e);
      return;
    }
    error.textContent = "";
    var th = document.createElement("th");
    th.className = "custom";
    th.scope = "col";
    th.textContent = name;
    th.title = text;
    table.tHead.rows[0].appendChild(th);
    Array.prototype.forEach.call(table.tBodies[0].rows, function (tr) {
      var row = byId.get(tr.getAttribute("data-row-id")) || {};
      var value = window.LB.evaluate(tree, row);
      var td = document.createElement("td");
      td.className = "n" + (value === null ? " nm" : "");
      td.textContent = window.LB.formatNumber(value);
      tr.appendChild(td);
    });
    if (!restored) {
      var params = new URLSearchParams(location.hash.replace(/^#/, ""));
      params.append("c", name + "~" + text);
      try { history.replaceState(null, "", "#" + params.toString()); } catch (e) { location.hash = params.toString(); }
    }
  }
  button.addEventListener("click", addColumn);
  new URLSearchParams(location.hash.replace(/^#/, "")).getAll("c").forEach(function (entry) {
    var at = entry.indexOf("~");
    if (at > 0) addColumn(null, [entry.slice(0, at), entry.slice(at + 1)]);
  });
  window.LBServing = { addColumn: addColumn };
})();
