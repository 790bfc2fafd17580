// /api/docs: draws the API reference from the spec; a file of its own, as the CSP allows no inline script.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    validatorUrl: null, // never send the spec to an outside validator
    tryItOutEnabled: false,
  });
});
