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
})();
