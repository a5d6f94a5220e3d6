/* The pages' data: data scripts (data/boards/<slug>.js call LBData.put), columnar tables decoded
 * into rows (leaderboard_site/page_data.py), loaded on demand with a <script> element (works
 * from file://, where a fetch does not), natural ordering of names (0.2M < 2M < 20M), and the
 * page's one set of rows shared by the table and every chart. */
(function () {
  "use strict";
  var store = Object.create(null);
  var decoded = Object.create(null);
  var loading = Object.create(null);
  var own = Object.prototype.hasOwnProperty;

  function put(name, payload) { store[name] = payload; }
  function get(name) { return typeof name === "string" && own.call(store, name) ? store[name] : null; }

  /* Rows of a columnar table: {n, cols: {key: [values] | {d: [distinct], i: [index]}}}. */
  function rows(table) {
    var out = new Array(table.n);
    var i;
    for (i = 0; i < table.n; i += 1) out[i] = {};
    Object.keys(table.cols).forEach(function (key) {
      var column = table.cols[key];
      if (Array.isArray(column)) {
        for (i = 0; i < table.n; i += 1) out[i][key] = column[i];
      } else {
        for (i = 0; i < table.n; i += 1) out[i][key] = column.d[column.i[i]];
      }
    });
    return out;
  }

  /* The decoded rows of a data script, each with its model's colour and shape (what every
   * chart's identity scales read), decoded once per page. */
  function boardRows(name) {
    if (own.call(decoded, name)) return decoded[name];
    var payload = get(name);
    if (!payload) return null;
    var styles = payload.styles || {};
    var list = rows(payload.rows);
    list.forEach(function (row) {
      var style = own.call(styles, row.model_name) ? styles[row.model_name] : null;
      row.color = style ? style.color : "#1f77b4";
      row.shape = style ? style.shape : "circle";
    });
    decoded[name] = list;
    return list;
  }

  /* Load a data script (`src` relative to the page) that puts `name`; resolves its payload. */
  function load(src, name) {
    if (get(name)) return Promise.resolve(get(name));
    if (own.call(loading, name)) return loading[name];
    loading[name] = new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = function () {
        if (get(name)) resolve(get(name));
        else reject(new Error(src + " did not hold " + name));
      };
      script.onerror = function () { delete loading[name]; reject(new Error("could not load " + src)); };
      document.head.appendChild(script);
    });
    return loading[name];
  }

  /* The page's own settings (<script type="application/json" id="lb-page">), or {}. */
  var pageSettings = null;
  function page() {
    if (pageSettings === null) {
      var holder = document.getElementById("lb-page");
      pageSettings = holder ? JSON.parse(holder.textContent) : {};
    }
    return pageSettings;
  }

  var collator = typeof Intl !== "undefined" && Intl.Collator ?
    new Intl.Collator("en", { numeric: true, sensitivity: "base" }) : null;
  function naturalCompare(a, b) {
    a = a === null || a === undefined ? "" : String(a);
    b = b === null || b === undefined ? "" : String(b);
    return collator ? collator.compare(a, b) : (a < b ? -1 : a > b ? 1 : 0);
  }

  window.LBData = {
    put: put, get: get, rows: rows, boardRows: boardRows, load: load, page: page,
    naturalCompare: naturalCompare,
  };
})();
