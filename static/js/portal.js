// Progressive enhancement only: every page works without it.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // Cascading location filter: each choice loads the next list without reloading the page.
  var form = document.querySelector("form[data-cascade]");
  if (!form) return;
  var levels = ["region", "comuna", "subestacion", "alimentador", "transformador"];
  var refresh = form.querySelector("[data-refresh]");
  if (refresh) refresh.hidden = true;
  levels.forEach(function (level, index) {
    var select = form.elements[level];
    if (!select || index === levels.length - 1) return;
    select.addEventListener("change", function () {
      var next = levels[index + 1];
      levels.slice(index + 1).forEach(function (deeper) {
        var s = form.elements[deeper];
        s.innerHTML = "";
        s.appendChild(new Option("Seleccione…", ""));
        s.disabled = true;
      });
      if (!select.value) return;
      var url = form.dataset.options.replace("__level__", next) +
        "?parent=" + encodeURIComponent(select.value);
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          var target = form.elements[next];
          data.options.forEach(function (o) { target.appendChild(new Option(o.label, o.value)); });
          target.disabled = false;
          target.focus();
        });
    });
  });
})();
