// Both endpoints come from where the page was served, so it works behind any
// host, port, scheme or path prefix. They are kept on <html> for the IDE
// scripts that follow (and for tests reading the rendered DOM).
(function () {
  "use strict";
  var here = window.location;
  var root = document.documentElement;
  root.dataset.endpoint = here.origin + here.pathname;
  // A page served by a Django view (django_gql_channels.views) names the
  // WebSocket path, or "" when the project serves none.
  var wsPath = root.dataset.subscriptionPath === undefined ? here.pathname : root.dataset.subscriptionPath;
  root.dataset.subscriptionEndpoint = wsPath ? (here.protocol === "https:" ? "wss://" : "ws://") + here.host + wsPath : "";

  // Replaces the IDE with a note saying why it is missing and how to reach the
  // endpoint without it.
  window.ideUnavailable = function (targetId, name, reason) {
    var target = document.getElementById(targetId);
    var message = document.createElement("p");
    message.className = "ide-status";
    message.textContent = name + " could not be loaded: " + reason + " The GraphQL endpoint itself works: " +
      "POST queries to " + root.dataset.endpoint + " and subscribe over " + root.dataset.subscriptionEndpoint + ".";
    target.replaceChildren(message);
    root.dataset.ideStatus = "unavailable";
  };
})();
