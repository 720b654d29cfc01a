// Renders the document named by the page's #swagger-ui element with
// Swagger UI. It is a file of its own, not an inline script, so that the
// page's Content-Security-Policy can allow scripts from this server only.
"use strict";
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.url,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
    // Show the schemas section.
    defaultModelsExpandDepth: 1,
    showExtensions: true,
    showCommonExtensions: true,
    // No call to an online validator: the page fetches nothing from elsewhere.
    validatorUrl: null,
    // A pasted access token lives as long as the page, never in storage.
    persistAuthorization: false,
  });
});
