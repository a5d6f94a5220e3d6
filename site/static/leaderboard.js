/* What the site's pages share (window.LB): custom formula columns (a hand-written tokenizer +
 * recursive-descent parser: no eval, no Function), the Pareto front, number formatting, the
 * latency deadline and energy budget rules, table filling. The board page itself is board.js. */
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

  /* Intl number formats, one per count of decimals (toLocaleString builds one per call: slow). */
  var FORMATS = [];
  function decimalsFormat(decimals) {
    if (!FORMATS[decimals]) FORMATS[decimals] = new Intl.NumberFormat("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    return FORMATS[decimals];
  }

  function formatNumber(value, digits) {
    if (value === null || value === undefined || typeof value !== "number" || !isFinite(value)) return "not measured";
    if (value === 0) return "0";
    if (Number.isInteger(value) && Math.abs(value) >= 1) return decimalsFormat(0).format(value);
    var magnitude = Math.floor(Math.log10(Math.abs(value)));
    var decimals = Math.max(0, Math.min(12, (digits || 3) - 1 - magnitude));
    return decimalsFormat(decimals).format(value);
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

  /* CSV text (RFC 4180: quotes doubled, fields with a comma, quote or line break quoted) of
   * `rows` (objects) over `keys`, headed by `headers`. A cell starting with = + - @ is prefixed
   * with ' so a spreadsheet never runs it as a formula. */
  function csvText(headers, keys, rows) {
    function cell(value) {
      if (value === null || value === undefined) return "";
      var text = typeof value === "number" ? String(value) : String(value);
      if (typeof value !== "number" && /^[=+\-@]/.test(text)) text = "'" + text;
      return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
    }
    var lines = [headers.map(cell).join(",")];
    rows.forEach(function (row) { lines.push(keys.map(function (k) { return cell(row[k]); }).join(",")); });
    return lines.join("\r\n") + "\r\n";
  }

  window.LB = {
    csvText: csvText, spreadText: spreadText, deadlineKey: deadlineKey,
    tokenize: tokenize, parse: parse, evaluate: evaluate, FormulaError: FormulaError,
    paretoFront: paretoFront, formatNumber: formatNumber, applyDeadline: applyDeadline,
    applyBudget: applyBudget, missingText: missingText, checkName: checkName,
    latencyKey: latencyKey, headerText: headerText, axis: axis, fillTable: fillTable, wrapTitle: wrapTitle,
    HIGHLIGHT_OPACITY: HIGHLIGHT_OPACITY,
  };
})();
