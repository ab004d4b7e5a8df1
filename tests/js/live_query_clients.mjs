// Live queries through the npm clients: graphql-ws (graphql-transport-ws) and graphql-sse, both modes.
// Usage: node live_query_clients.mjs http://host:port/graphql ws://host:port/graphql
// Each client runs `query Todos @live { todos { title } }`, takes its first result, adds a to-do
// with a mutation over HTTP, takes the next result, and stops the operation.
// Prints one JSON object: client -> the two results it saw.
import { createClient as createSSEClient } from 'graphql-sse';
import { createClient as createWSClient } from 'graphql-ws';
import WebSocket from 'ws';

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

async function main() {
  const out = {};
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
