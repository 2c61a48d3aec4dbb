
(function () {
  "use strict";
  var NUM = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?/i;
  function key(cell) {
    var s = cell ? cell.getAttribute("data-sort") : "";
    if (s === null) { s = cell.textContent; }
    s = (s || "").trim().replace(/\u2212/g, "-");
    if (s === "" || s === "\u2013" || s === "-" || s === "\u00b7") { return {miss: true}; }
    var m = s.match(NUM);
    if (m) { return {num: parseFloat(m[0]), txt: s.toLowerCase()}; }
    return {num: NaN, txt: s.toLowerCase()};
  }
  function cmp(a, b) {
    var an = !isNaN(a.num), bn = !isNaN(b.num);
    if (an && bn) { return a.num - b.num || (a.txt < b.txt ? -1 : a.txt > b.txt ? 1 : 0); }
    if (an !== bn) { return an ? -1 : 1; }
    return a.txt < b.txt ? -1 : a.txt > b.txt ? 1 : 0;
  }
  function sortBy(table, th, col) {
    var body = table.tBodies[0];
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    var rows = Array.prototype.slice.call(body.rows).map(function (r, i) {
      return {row: r, i: i, k: key(r.cells[col])};
    });
    rows.sort(function (x, y) {
      if (x.k.miss || y.k.miss) { return (x.k.miss ? 1 : 0) - (y.k.miss ? 1 : 0) || x.i - y.i; }
      return dir * cmp(x.k, y.k) || x.i - y.i;
    });
    rows.forEach(function (x) { body.appendChild(x.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
  }
  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("table"), function (table) {
      if (!table.tHead || table.tHead.rows.length !== 1 || !table.tBodies.length ||
          table.tBodies[0].rows.length < 2 || table.classList.contains("nosort")) { return; }
      table.classList.add("sortable");
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
        th.tabIndex = 0;
        th.title = "Sort by this column";
        th.addEventListener("click", function () { sortBy(table, th, col); });
        th.addEventListener("keydown", function (e) {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th, col); }
        });
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else { init(); }
})();
