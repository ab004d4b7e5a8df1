// Live queries through the npm clients: graphql-ws (graphql-transport-ws), subscriptions-transport-ws
// (the legacy graphql-ws protocol) and graphql-sse, both modes.
// Usage: node live_query_clients.mjs http://host:port/graphql ws://host:port/graphql
// Each client runs `query Todos @live { todos { title } }`, takes its first result, adds a to-do
// with a mutation over HTTP, takes the next result, and stops the operation.
// Prints one JSON object: client -> the two results it saw.
import { createClient as createSSEClient } from 'graphql-sse';
import { createClient as createWSClient } from 'graphql-ws';
import pkg from 'subscriptions-transport-ws';
import WebSocket from 'ws';

const { SubscriptionClient } = pkg;

const [httpUrl, wsUrl] = process.argv.slice(2);
const LIVE = { query: 'query Todos @live { todos { title } }' };

async function addTodo(title) {
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'mutation ($t: String!) { addTodo(title: $t) { title } }', variables: { t: title } }),
  });
  return response.json();
}

async function twoResults(iterable, title) {
  const iterator = iterable[Symbol.asyncIterator]();
  const first = (await iterator.next()).value;
  await addTodo(title);
  const second = (await iterator.next()).value;
  await iterator.return(); // stops the live query on the server
  return [first, second];
}

// subscriptions-transport-ws gives an observable: the same two results, then `stop`.
function legacyTwoResults(client, title) {
  return new Promise((resolve, reject) => {
    const results = [];
    const subscription = client.request(LIVE).subscribe({
      next: (result) => {
        results.push(result);
        if (results.length === 1) addTodo(title).catch(reject);
        if (results.length === 2) { subscription.unsubscribe(); resolve(results); }
      },
      error: reject,
    });
  });
}

async function main() {
  const out = {};
  const legacy = new SubscriptionClient(wsUrl, { reconnect: false }, WebSocket);
  out['subscriptions-transport-ws'] = await legacyTwoResults(legacy, 'from subscriptions-transport-ws');
  legacy.close();
  const ws = createWSClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  out['graphql-ws'] = await twoResults(ws.iterate(LIVE), 'from graphql-ws');
  await ws.dispose();
  for (const single of [false, true]) {
    const sse = createSSEClient({ url: httpUrl, singleConnection: single, retryAttempts: 0 });
    const name = single ? 'graphql-sse single' : 'graphql-sse distinct';
    out[name] = await twoResults(sse.iterate(LIVE), `from ${name}`);
    sse.dispose();
  }
  out.http = await (await fetch(httpUrl, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(LIVE),
  })).json();
  console.log(JSON.stringify(out));
}

main().catch((error) => {
  console.log(JSON.stringify({ failed: String(error && error.stack || error) }));
  process.exit(1);
});
