// attnlab report: progressive enhancement. Every table and chart is in the
// HTML already; this script only adds ways to work with them: sortable and
// filterable tables, metric columns shown or hidden, per-seed rows under
// their mean, comparing two runs, copying a table as Markdown or LaTeX,
// hover values, legend entries that hide a run everywhere, and a log axis.
// It loads nothing and sends nothing, so the page works from file://.
(function () {
  "use strict";
  var source = document.getElementById("report-data");
  if (!source) { return; }
  var data = JSON.parse(source.textContent);
  document.documentElement.classList.add("js");

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function cellText(cell) { return cell.textContent.replace(/★/g, "").replace(/\s+/g, " ").trim(); }

  // ---- sorting -----------------------------------------------------------
  // A value to sort by: seconds for durations, the number for numbers (a
  // "mean ± std" sorts by its mean), else the text; "–" (missing) sorts last.
  function sortKey(text) {
    var m;
    if (text === "" || text === "–" || text === "-") { return null; }
    if ((m = /^(\d+)h (\d+)m$/.exec(text))) { return +m[1] * 3600 + +m[2] * 60; }
    if ((m = /^(\d+)m (\d+)s$/.exec(text))) { return +m[1] * 60 + +m[2]; }
    if ((m = /^(-?[\d.]+(?:e[-+]?\d+)?)( s)?(?: ±.*)?$/i.exec(text))) { return parseFloat(m[1]); }
    return text.toLowerCase();
  }
  function compareKeys(a, b) {
    if (a === null || b === null) { return a === b ? 0 : (a === null ? 1 : -1); }
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    return String(a).localeCompare(String(b));
  }
  // Rows move in blocks: a mean row keeps its per-seed rows under it.
  function blocks(tbody) {
    var out = [];
    Array.prototype.forEach.call(tbody.rows, function (row) {
      if (row.classList.contains("seed") && out.length) { out[out.length - 1].push(row); } else { out.push([row]); }
    });
    return out;
  }
  function makeSortable(table) {
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    var body = table.tBodies[0];
    if (!head || !body) { return; }
    Array.prototype.forEach.call(head.cells, function (th, col) {
      var button = el("button", { type: "button", "class": "sort", title: "Sort by this column" });
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        var descending = th.getAttribute("aria-sort") === "ascending";
        Array.prototype.forEach.call(head.cells, function (c) { c.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var sorted = blocks(body).map(function (b) {
          var cell = b[0].cells[col];
          return { rows: b, key: cell ? sortKey(cellText(cell)) : null };
        });
        sorted.sort(function (x, y) {
          if (x.key === null || y.key === null) { return compareKeys(x.key, y.key); }
          return descending ? compareKeys(y.key, x.key) : compareKeys(x.key, y.key);
        });
        sorted.forEach(function (b) { b.rows.forEach(function (r) { body.appendChild(r); }); });
      });
    });
  }

  // ---- filter, columns, copy ---------------------------------------------
  function addFilter(controls, table) {
    var input = el("input", { type: "search", placeholder: "Filter rows", "aria-label": "Filter rows" });
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase();
      blocks(table.tBodies[0]).forEach(function (b) {
        var hide = q !== "" && b[0].textContent.toLowerCase().indexOf(q) < 0;
        b.forEach(function (r) { r.classList.toggle("filtered", hide); });
      });
    });
    controls.appendChild(input);
  }
  function addColumnToggles(controls, table) {
    var head = table.tHead.rows[table.tHead.rows.length - 1];
    var metricCols = Array.prototype.filter.call(head.cells, function (th) { return th.hasAttribute("data-metric"); });
    if (metricCols.length < 2) { return; }
    var details = el("details"), box = el("div");
    details.appendChild(el("summary", {}, "Columns"));
    metricCols.forEach(function (th) {
      var label = el("label"), check = el("input", { type: "checkbox" });
      check.checked = true;
      check.addEventListener("change", function () {
        var col = th.cellIndex;
        Array.prototype.forEach.call(table.rows, function (row) {
          if (row.cells[col]) { row.cells[col].classList.toggle("col-hidden", !check.checked); }
        });
      });
      label.appendChild(check);
      label.appendChild(document.createTextNode(" " + cellText(th).replace(/ [↑↓↕▲▼]+$/, "")));
      box.appendChild(label);
    });
    details.appendChild(box);
    controls.appendChild(details);
  }
  function visibleRows(table) {
    return Array.prototype.filter.call(table.rows, function (r) {
      return !r.classList.contains("filtered") && !r.classList.contains("collapsed") && !r.classList.contains("run-hidden");
    }).map(function (r) {
      return Array.prototype.filter.call(r.cells, function (c) { return !c.classList.contains("col-hidden"); }).map(cellText);
    });
  }
  function markdownOf(rows) {
    var line = function (cells) { return "| " + cells.map(function (c) { return c.replace(/\|/g, "\\|"); }).join(" | ") + " |"; };
    var out = [line(rows[0]), "|" + rows[0].map(function () { return "---"; }).join("|") + "|"];
    return out.concat(rows.slice(1).map(line)).join("\n") + "\n";
  }
  function latexOf(rows) {
    var esc = function (s) {
      return s.replace(/[\\&%$#_{}~^]/g, function (c) {
        return c === "\\" ? "\\textbackslash{}" : c === "~" ? "\\textasciitilde{}" : c === "^" ? "\\textasciicircum{}" : "\\" + c;
      });
    };
    var line = function (cells) { return cells.map(esc).join(" & ") + " \\\\"; };
    return ["\\begin{tabular}{" + rows[0].map(function () { return "l"; }).join("") + "}", "\\toprule", line(rows[0]), "\\midrule"]
      .concat(rows.slice(1).map(line), ["\\bottomrule", "\\end{tabular}"]).join("\n") + "\n";
  }
  function addCopy(controls, table) {
    var output = el("textarea", { "class": "export", readonly: "", "aria-label": "Exported table", hidden: "" });
    // The results table copies exactly what `attnlab report --format md|latex`
    // writes (every run); other tables copy the rows and columns shown.
    var exact = table.getAttribute("data-export") === "results";
    [["Copy as Markdown", exact ? function () { return data.markdown; } : function () { return markdownOf(visibleRows(table)); }],
     ["Copy as LaTeX", exact ? function () { return data.latex; } : function () { return latexOf(visibleRows(table)); }]]
      .forEach(function (spec) {
        var button = el("button", { type: "button" }, spec[0]);
        button.addEventListener("click", function () {
          output.value = spec[1]();
          output.hidden = false;
          output.select();
          // The clipboard may be refused (no permission): the text stays selected.
          if (navigator.clipboard && navigator.clipboard.writeText) {
            navigator.clipboard.writeText(output.value).catch(function () {});
          }
        });
        controls.appendChild(button);
      });
    return output;
  }

  // ---- per-seed rows under their mean ----------------------------------
  function makeCollapsible(table) {
    Array.prototype.forEach.call(table.querySelectorAll("tr.group"), function (row) {
      var seeds = table.querySelectorAll("tr.seed[data-group=\"" + row.getAttribute("data-group") + "\"]");
      if (!seeds.length) { return; }
      Array.prototype.forEach.call(seeds, function (s) { s.classList.add("collapsed"); });
      var button = el("button", { type: "button", "class": "expand", "aria-expanded": "false", title: "Show the seeds" }, "▸");
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") !== "true";
        button.setAttribute("aria-expanded", String(open));
        button.textContent = open ? "▾" : "▸";
        Array.prototype.forEach.call(seeds, function (s) { s.classList.toggle("collapsed", !open); });
      });
      row.cells[0].insertBefore(button, row.cells[0].firstChild);
    });
  }

  // ---- comparing two runs ------------------------------------------------
  var panel = document.getElementById("compare");
  function showComparison(a, b) {
    panel.textContent = "";
    var table = el("table"), head = table.createTHead().insertRow(), body = table.createTBody();
    ["", a.label, b.label].forEach(function (t) { head.appendChild(el("th", {}, t)); });
    var add = function (name, x, y) {
      if (x === y) { return; }
      var row = body.insertRow();
      [name, x, y].forEach(function (t) { row.insertCell().textContent = t; });
    };
    a.params.forEach(function (p, i) { add(p[0], p[1], b.params[i] ? b.params[i][1] : "–"); });
    data.metrics.forEach(function (m, i) { add(m, a.metrics[i], b.metrics[i]); });
    panel.appendChild(el("h3", {}, "What differs"));
    panel.appendChild(body.rows.length ? table : el("p", {}, "Nothing: same params and metric values."));
    var close = el("button", { type: "button" }, "Close");
    close.addEventListener("click", function () {
      panel.hidden = true;
      Array.prototype.forEach.call(document.querySelectorAll("input.pick:checked"), function (c) { c.checked = false; });
    });
    panel.appendChild(close);
    panel.hidden = false;
  }
  function makeComparable(table) {
    var picked = [];
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var run = data.runs[+row.getAttribute("data-i")];
      if (!run) { return; }
      var check = el("input", { type: "checkbox", "class": "pick", "aria-label": "Compare " + run.label });
      check.addEventListener("change", function () {
        picked = picked.filter(function (c) { return c !== check && c.checked; });
        if (check.checked) { picked.push(check); }
        while (picked.length > 2) { picked.shift().checked = false; }
        if (picked.length === 2) {
          showComparison(data.runs[+picked[0].closest("tr").getAttribute("data-i")], run);
        } else { panel.hidden = true; }
      });
      row.cells[0].insertBefore(check, row.cells[0].firstChild);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.explore"), function (table) {
    if (!table.tHead || !table.tBodies[0] || table.tBodies[0].rows.length < 2) { return; }
    var controls = el("div", { "class": "controls" });
    addFilter(controls, table);
    addColumnToggles(controls, table);
    var output = addCopy(controls, table);
    if (table.getAttribute("data-export") === "results" && panel) {
      controls.appendChild(el("span", { "class": "muted" }, "Tick two runs to see what differs."));
      makeComparable(table);
    }
    if (table.classList.contains("seeds")) { makeCollapsible(table); }
    makeSortable(table);
    var anchor = table.closest(".table-wrap") || table;
    anchor.parentNode.insertBefore(controls, anchor);
    anchor.parentNode.insertBefore(output, anchor);
  });

  // ---- charts: legend toggles hide a run everywhere ----------------------
  var hidden = {};
  function applyHidden() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-run]"), function (e) {
      var off = hidden[e.getAttribute("data-run")] === true;
      if (e.classList.contains("legend")) {
        e.classList.toggle("off", off);
        e.setAttribute("aria-pressed", String(!off));
      } else { e.classList.toggle("run-hidden", off); }
    });
  }
  // Only legends of lines toggle (scatter legends name groups, not runs).
  var lineRuns = {};
  Array.prototype.forEach.call(document.querySelectorAll("svg.chart g.series[data-run]"), function (g) {
    lineRuns[g.getAttribute("data-run")] = true;
  });
  Array.prototype.forEach.call(document.querySelectorAll("svg.chart g.legend[data-run]"), function (g) {
    var run = g.getAttribute("data-run");
    if (!lineRuns[run]) { return; }
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    g.setAttribute("aria-pressed", "true");
    g.setAttribute("aria-label", "Show or hide " + run);
    var toggle = function () { hidden[run] = !hidden[run]; applyHidden(); };
    g.addEventListener("click", toggle);
    g.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(); }
    });
  });

  // ---- charts: hover values and the log axis -----------------------------
  var tooltip = el("div", { id: "tooltip", role: "status", hidden: "" });
  document.body.appendChild(tooltip);
  Array.prototype.forEach.call(document.querySelectorAll("figure.curve"), function (figure) {
    var lines = data.charts[+figure.getAttribute("data-chart")];
    var svg = figure.querySelector("svg.chart");
    if (!lines || !svg || !svg.hasAttribute("data-plot")) { return; }
    var plot = svg.getAttribute("data-plot").split(" ").map(Number);
    var xr = svg.getAttribute("data-x").split(" ").map(Number), yr = svg.getAttribute("data-y").split(" ").map(Number);
    var left = plot[0], top = plot[1], right = plot[2], bottom = plot[3];
    var log = false, logLo = Infinity, logHi = -Infinity;
    lines.forEach(function (l) {
      l[1].forEach(function (p) { if (p[1] > 0) { logLo = Math.min(logLo, Math.log10(p[1])); logHi = Math.max(logHi, Math.log10(p[1])); } });
    });
    function px(step) { return xr[1] > xr[0] ? left + (step - xr[0]) / (xr[1] - xr[0]) * (right - left) : (left + right) / 2; }
    function py(v) {
      if (log) { return logHi > logLo ? bottom - (Math.log10(v) - logLo) / (logHi - logLo) * (bottom - top) : (top + bottom) / 2; }
      return yr[1] > yr[0] ? bottom - (v - yr[0]) / (yr[1] - yr[0]) * (bottom - top) : (top + bottom) / 2;
    }
    var groups = {};
    Array.prototype.forEach.call(svg.querySelectorAll("g.series[data-run]"), function (g) { groups[g.getAttribute("data-run")] = g; });

    svg.addEventListener("pointermove", function (ev) {
      var ctm = svg.getScreenCTM();
      if (!ctm) { return; }
      var pt = svg.createSVGPoint();
      pt.x = ev.clientX; pt.y = ev.clientY;
      var at = pt.matrixTransform(ctm.inverse()), best = null;
      lines.forEach(function (l) {
        if (hidden[l[0]]) { return; }
        l[1].forEach(function (p) {
          var d = Math.hypot(px(p[0]) - at.x, py(p[1]) - at.y);
          if (!best || d < best.d) { best = { d: d, label: l[0], p: p }; }
        });
      });
      if (!best || best.d > 30) { tooltip.hidden = true; return; }
      tooltip.textContent = best.label + " · step " + best.p[0] + " · " + best.p[1].toPrecision(5);
      tooltip.style.left = Math.min(ev.clientX + 12, window.innerWidth - 220) + "px";
      tooltip.style.top = ev.clientY + 12 + "px";
      tooltip.hidden = false;
    });
    svg.addEventListener("pointerleave", function () { tooltip.hidden = true; });

    if (!figure.hasAttribute("data-log")) { return; }
    var ticks = svg.querySelectorAll("text.yt"), bands = svg.querySelectorAll("polygon.band");
    var button = el("button", { type: "button", "class": "log-toggle", "aria-pressed": "false" }, "log scale");
    button.addEventListener("click", function () {
      log = !log;
      button.setAttribute("aria-pressed", String(log));
      lines.forEach(function (l) {
        var g = groups[l[0]];
        if (!g) { return; }
        // The linear drawing is kept as the server made it, to go back to.
        var line = g.querySelector("polyline"), dots = g.querySelectorAll("circle");
        if (!line.hasAttribute("data-linear")) {
          line.setAttribute("data-linear", line.getAttribute("points"));
          Array.prototype.forEach.call(dots, function (c) { c.setAttribute("data-linear", c.getAttribute("cy")); });
        }
        var coords = l[1].map(function (p) { return [px(p[0]).toFixed(2), py(p[1]).toFixed(2)]; });
        line.setAttribute("points", log ? coords.map(function (c) { return c.join(","); }).join(" ") : line.getAttribute("data-linear"));
        Array.prototype.forEach.call(dots, function (c, i) {
          if (coords[i]) { c.setAttribute("cy", log ? coords[i][1] : c.getAttribute("data-linear")); }
        });
      });
      // Bands are min-max ranges on the linear axis: shown only there.
      Array.prototype.forEach.call(bands, function (b) { b.style.display = log ? "none" : ""; });
      // The grid lines stay; their labels give the value there on the axis shown.
      Array.prototype.forEach.call(ticks, function (t) {
        if (!t.hasAttribute("data-linear")) { t.setAttribute("data-linear", t.textContent); }
        var y = +t.getAttribute("y") - 4;
        t.textContent = log ? Math.pow(10, logLo + (bottom - y) / (bottom - top) * (logHi - logLo)).toPrecision(2) : t.getAttribute("data-linear");
      });
    });
    figure.querySelector("h3").appendChild(document.createTextNode(" "));
    figure.querySelector("h3").appendChild(button);
  });
})();
