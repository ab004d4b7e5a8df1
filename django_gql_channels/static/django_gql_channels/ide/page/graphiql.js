// GraphiQL from the files this endpoint serves itself: no CDN, works offline.
// Queries and mutations go over HTTP; subscriptions over a graphql-ws
// (graphql-transport-ws) socket at the same URL, with the graphql-ws client
// that the GraphiQL bundle carries.
(function () {
  "use strict";
  var root = document.documentElement;
  if (!window.React || !window.ReactDOM || !window.GraphiQL) {
    window.ideUnavailable("ide", "GraphiQL", "its files did not load from this server.");
    return;
  }
  // A page served by a Django view sends Django's CSRF token with each request.
  var headers = {};
  if (root.dataset.csrfToken) {
    headers[root.dataset.csrfHeader || "X-CSRFToken"] = root.dataset.csrfToken;
  }
  var fetcher = window.GraphiQL.createFetcher({
    url: root.dataset.endpoint,
    subscriptionUrl: root.dataset.subscriptionEndpoint || undefined,
    headers: headers,
  });
  var plugins = window.GraphiQLPluginExplorer ? [window.GraphiQLPluginExplorer.explorerPlugin()] : [];
  var target = document.getElementById("ide");
  target.replaceChildren();
  window.ReactDOM.createRoot(target).render(
    window.React.createElement(window.GraphiQL, {
      fetcher: fetcher,
      plugins: plugins,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    })
  );
  root.dataset.ideStatus = "ready";
})();
