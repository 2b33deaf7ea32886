// Siyu console: progressive enhancement only; every page works without it.
(function () {
  "use strict";

  // New-product form: add and remove SKU rows. New rows take the next free index.
  function nextIndex(container) {
    var max = -1;
    container.querySelectorAll(".sku-row").forEach(function (row) {
      var n = parseInt(row.getAttribute("data-index"), 10);
      if (!isNaN(n) && n > max) { max = n; }
    });
    return max + 1;
  }

  function wireRemove(row) {
    var button = row.querySelector(".remove-sku-row");
    if (button) {
      button.addEventListener("click", function () {
        var previous = row.previousElementSibling;
        row.parentNode.removeChild(row);
        var focusTarget = (previous && previous.querySelector("input")) || document.getElementById("add-sku-row");
        if (focusTarget) { focusTarget.focus(); }
      });
    }
  }

  var addButton = document.getElementById("add-sku-row");
  var rows = document.getElementById("sku-rows");
  var template = document.getElementById("sku-row-template");
  if (addButton && rows && template) {
    rows.querySelectorAll(".sku-row").forEach(wireRemove);
    addButton.addEventListener("click", function () {
      var n = String(nextIndex(rows));
      var html = template.innerHTML.replace(/__N__/g, n);
      var holder = document.createElement("div");
      holder.innerHTML = html.trim();
      var row = holder.firstElementChild;
      var legend = row.querySelector("legend");
      if (legend) { legend.textContent = legend.textContent + " " + (parseInt(n, 10) + 1); }
      rows.appendChild(row);
      wireRemove(row);
      var first = row.querySelector("input");
      if (first) { first.focus(); }
    });
  }

  // Move focus to the first field with an error, so keyboard users land on it.
  var invalid = document.querySelector("[aria-invalid=true]");
  if (invalid) { invalid.focus(); }
})();
