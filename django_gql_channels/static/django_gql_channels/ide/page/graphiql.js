// GraphiQL from the files this endpoint serves itself: no CDN, works offline.
// Queries and mutations go over HTTP; subscriptions and live queries over a
// graphql-ws (graphql-transport-ws) socket at the same URL, with the graphql-ws
// client that the GraphiQL bundle carries.
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
  var send = window.GraphiQL.createFetcher({
    url: root.dataset.endpoint,
    subscriptionUrl: root.dataset.subscriptionEndpoint || undefined,
    headers: headers,
  });
  // A live query (`query ... @live`, LIVE_QUERIES on) is a stream of results, which
  // plain HTTP refuses: the fetcher sends it over the socket, as it does subscriptions,
  // when the parse it is given says "subscription". The text sent is unchanged.
  function liveOperation(documentAST, operationName) {
    var operations = (documentAST && documentAST.definitions || []).filter(function (definition) {
      return definition.kind === "OperationDefinition";
    });
    var chosen = operations.filter(function (definition) {
      return operationName ? definition.name && definition.name.value === operationName : operations.length === 1;
    })[0];
    var live = chosen && chosen.operation === "query" && (chosen.directives || []).some(function (directive) {
      return directive.name.value === "live";
    });
    return live ? chosen : null;
  }
  var fetcher = function (params, options) {
    var live = options && liveOperation(options.documentAST, params.operationName);
    if (live) {
      var definitions = options.documentAST.definitions.map(function (definition) {
        return definition === live ? Object.assign({}, definition, { operation: "subscription" }) : definition;
      });
      options = Object.assign({}, options, {
        documentAST: Object.assign({}, options.documentAST, { definitions: definitions }),
      });
    }
    return send(params, options);
  };
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
