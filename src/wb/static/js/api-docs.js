// /api/docs: draws the API reference from the spec; a file of its own, as the CSP allows no inline script.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    validatorUrl: null, // never send the spec to an outside validator
    tryItOutEnabled: false,
    // "Try it out" with this browser's session (no token given in Authorize): the page's CSRF token
    // goes with each request to this site, as the site's own pages send it on writes.
    requestInterceptor: function (request) {
      var token = root.dataset.csrfToken, headers = request.headers || (request.headers = {});
      var sameSite = new URL(request.url, window.location.href).origin === window.location.origin;
      if (token && sameSite && !headers.Authorization) headers["X-CSRFToken"] = token;
      return request;
    },
  });
});
