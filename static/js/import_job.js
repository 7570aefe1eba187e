// The admin's import job page: while a step runs, ask for the job's state every 2 s, move the
// progress bar to the step the import is at, and reload the page when it has finished (the
// report and the buttons are then the server's).
(function () {
  "use strict";
  var box = document.querySelector(".import-job[data-status-url]");
  if (!box || box.dataset.running !== "1") return;
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state && !state.running) {
          window.location.reload();
        } else {
          if (state && state.fraction !== null) {
            var bar = box.querySelector("progress");
            var step = box.querySelector(".import-step");
            if (bar) bar.value = state.fraction;
            if (step) step.textContent = state.what;
          }
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
