// Pathfinder is loaded from esm.sh at pinned versions: this page needs internet access.
// The module URLs come from this script's data attributes (set from pins.json).
const root = document.documentElement;
const urls = document.querySelector("script[data-pathfinder]").dataset;
try {
  const React = (await import(urls.react)).default;
  const ReactDOMClient = await import(urls.reactDomClient);
  const { Pathfinder } = await import(urls.pathfinder);
  const target = document.getElementById("ide");
  target.replaceChildren();
  (ReactDOMClient.createRoot || ReactDOMClient.default.createRoot)(target).render(
    React.createElement(Pathfinder, {
      fetcherOptions: { endpoint: root.dataset.endpoint },
      schemaPollingOptions: { enabled: true },
    })
  );
  root.dataset.ideStatus = "ready";
} catch (error) {
  window.ideUnavailable("ide", "Pathfinder",
    "it is served by esm.sh and this browser could not reach it (it needs internet access; " +
    "GRAPHQL_IDE = \"graphiql\" works offline).");
}
