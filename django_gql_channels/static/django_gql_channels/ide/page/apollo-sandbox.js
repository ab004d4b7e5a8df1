// Apollo Sandbox runs in an iframe served by Apollo: this page needs internet access.
(function () {
  "use strict";
  var root = document.documentElement;
  if (!window.EmbeddedSandbox) {
    window.ideUnavailable("ide", "Apollo Sandbox",
      "it is served by Apollo's CDN and this browser could not reach it (it needs internet access; " +
      "GRAPHQL_IDE = \"graphiql\" works offline).");
    return;
  }
  document.getElementById("ide").replaceChildren();
  new window.EmbeddedSandbox({
    target: "#ide",
    initialEndpoint: root.dataset.endpoint,
    initialSubscriptionEndpoint: root.dataset.subscriptionEndpoint,
    initialState: { includeCookies: true },
    hideCookieToggle: false,
  });
  root.dataset.ideStatus = "ready";
})();
