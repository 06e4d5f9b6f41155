(function () {
  "use strict";

  function sortKey(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) { return numeric ? NaN : ""; }
    var raw = cell.getAttribute("data-value");
    if (numeric) { return raw === null || raw === "" ? NaN : parseFloat(raw); }
    return (raw === null ? cell.textContent : raw).trim().toLowerCase();
  }

  function sortBy(table, th) {
    var numeric = th.getAttribute("data-sort") === "numeric";
    var current = th.getAttribute("aria-sort");
    var ascending = current ? current === "descending" : !numeric;
    var index = th.cellIndex;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = sortKey(a, index, numeric);
      var y = sortKey(b, index, numeric);
      if (numeric) {
        if (isNaN(x) || isNaN(y)) { return (isNaN(x) ? 1 : 0) - (isNaN(y) ? 1 : 0); }
        return ascending ? x - y : y - x;
      }
      return ascending ? x.localeCompare(y) : y.localeCompare(x);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.querySelectorAll("th[data-sort]"), function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function applyFilter(tools, table) {
    var box = tools.querySelector("input[type=search]");
    var only = tools.querySelector("input[type=checkbox]");
    var terms = box ? box.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
    var units = table.querySelectorAll("[data-row]");
    var shown = 0;
    Array.prototype.forEach.call(units, function (unit) {
      var text = unit.textContent.toLowerCase();
      var visible = terms.every(function (t) { return text.indexOf(t) !== -1; });
      if (visible && only && only.checked) { visible = unit.getAttribute("data-failing") === "true"; }
      unit.hidden = !visible;
      if (visible) { shown += 1; }
    });
    var count = tools.querySelector(".shown");
    if (count) { count.textContent = shown + " of " + units.length + " shown"; }
  }

  Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable]"), function (table) {
    Array.prototype.forEach.call(table.querySelectorAll("th[data-sort] button"), function (button) {
      button.addEventListener("click", function () { sortBy(table, button.parentNode); });
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll(".tools[data-for]"), function (tools) {
    var table = document.getElementById(tools.getAttribute("data-for"));
    if (!table) { return; }
    Array.prototype.forEach.call(tools.querySelectorAll("input"), function (input) {
      input.addEventListener("input", function () { applyFilter(tools, table); });
      input.addEventListener("change", function () { applyFilter(tools, table); });
    });
    tools.hidden = false;
    applyFilter(tools, table);
  });

  // A link's target lands below the sticky header (scroll-margin-top reads --top).
  var header = document.querySelector("header.top");
  // A box that scrolls (a wide table, a long input) must be reachable by keyboard to be
  // scrolled; a table's frame or a section also gets a name.
  function scrolls(box) {
    var style = getComputedStyle(box);
    return (box.scrollWidth > box.clientWidth + 1 && /auto|scroll/.test(style.overflowX)) ||
      (box.scrollHeight > box.clientHeight + 1 && /auto|scroll/.test(style.overflowY));
  }
  function layout() {
    if (header) {
      document.documentElement.style.setProperty("--top", header.offsetHeight + "px");
    }
    Array.prototype.forEach.call(document.querySelectorAll(".tablewrap, section, .text"), function (box) {
      if (box.hasAttribute("tabindex") || !scrolls(box)) { return; }
      box.setAttribute("tabindex", "0");
      if (box.classList.contains("text")) { return; }
      var title = box.querySelector("caption, h2");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", (title ? title.textContent : "Table") + ", scrolls sideways");
    });
  }
  layout();
  window.addEventListener("resize", layout);
  document.addEventListener("toggle", layout, true);

  // Pointing at a legend entry singles out its curve, as pointing at the curve does.
  Array.prototype.forEach.call(document.querySelectorAll(".curves-figure"), function (figure) {
    var chart = figure.querySelector("svg.curves");
    var series = chart ? chart.querySelectorAll(".series") : [];
    Array.prototype.forEach.call(figure.querySelectorAll(".legend li[data-series]"), function (item) {
      var line = series[parseInt(item.getAttribute("data-series"), 10)];
      if (!line) { return; }
      item.addEventListener("mouseenter", function () {
        chart.classList.add("singled");
        line.classList.add("on");
      });
      item.addEventListener("mouseleave", function () {
        chart.classList.remove("singled");
        line.classList.remove("on");
      });
    });
  });
})();
