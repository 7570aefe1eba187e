// The pages of the way in (login, registration, password): progressive enhancement only.
(function () {
  "use strict";
  // A keyboard or screen reader user lands on the list of problems after a failed submit.
  var summary = document.getElementById("errores");
  if (summary) summary.focus();

  // "Otra imagen": a new captcha without reloading the page (the form keeps what was typed).
  document.querySelectorAll("[data-captcha-refresh]").forEach(function (button) {
    var box = button.closest(".captcha-field");
    var image = box.querySelector("img.captcha");
    var key = box.querySelector("input[type=hidden]");
    var answer = box.querySelector("input:not([type=hidden])");
    var status = box.querySelector(".captcha-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      fetch(button.dataset.captchaRefresh, {
        headers: { "X-Requested-With": "XMLHttpRequest" },
        credentials: "same-origin"
      })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) {
          image.src = data.image_url;
          image.srcset = data.image_url.replace(/\/$/, "@2/") + " 2x";
          key.value = data.key;
          answer.value = "";
          answer.focus();
          status.textContent = "Se cargó una imagen nueva.";
        })
        .catch(function () {
          status.textContent = "No se pudo cargar otra imagen; recargue la página.";
        });
    });
  });
})();
