// The npm graphql-ws client against a live server: query, mutation, subscription, complete.
// Usage: node graphql_ws_client.mjs ws://host:port/graphql [rejected]
// Prints one JSON object with everything it saw.
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';

const [url, mode] = process.argv.slice(2);
const out = {};

async function collect(client, payload, limit = Infinity) {
  const results = [];
  for await (const result of client.iterate(payload)) {
    results.push(result);
    if (results.length >= limit) break; // break sends `complete`
  }
  return results;
}

async function main() {
  if (mode === 'rejected') {
    const closed = new Promise((resolve) => {
      const client = createClient({
        url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false,
        connectionParams: { reject: { message: 'no entry' } },
        on: { closed: (event) => resolve({ code: event.code, reason: event.reason }) },
        onNonLazyError: () => {},
      });
    });
    out.closed = await closed;
    return;
  }
  let ackPayload;
  const client = createClient({
    url, webSocketImpl: WebSocket, retryAttempts: 0,
    connectionParams: { token: 'from-node', ack: { welcome: 'node' } },
    on: { connected: (_socket, payload) => { ackPayload = payload; } },
  });
  out.query = await collect(client, { query: '{ hello(name: "node") connectionParam(key: "token") }' });
  out.ack = ackPayload;
  out.mutation = await collect(client, { query: 'mutation ($t: String!) { echo(text: $t) }', variables: { t: 'echoed' } });
  out.count = await collect(client, { query: 'subscription { count(to: 3) }' });
  out.validation = await collect(client, { query: '{ nope }' }).catch((errors) => ({ rejected: errors }));
  out.failing = [];
  await collect(client, { query: 'subscription { failAfter(n: 1) }' })
    .then((r) => out.failing.push({ results: r }))
    .catch((errors) => out.failing.push({ errors }));
  // Chat: subscribe, get the confirming null and the greeting, send a message with a mutation, get it, complete.
  const chat = [];
  const iterator = client.iterate({
    query: 'subscription ($rooms: [ChatRoom!]!) { joinChatRooms(rooms: $rooms, user: "node") { roomName message } }',
    variables: { rooms: [{ roomName: 'nodejs' }] },
  });
  chat.push((await iterator.next()).value);
  chat.push((await iterator.next()).value);
  await collect(client, {
    query: 'mutation { sendChatMessage(room: {roomName: "nodejs"}, message: "typed in node") }',
  });
  chat.push((await iterator.next()).value);
  await iterator.return(); // sends `complete`
  out.chat = chat;
  // A long subscription completed early by the client.
  out.early = await collect(client, { query: 'subscription { count(to: 1000000, delay: 0.01) }' }, 2);
  out.after = await collect(client, { query: '{ hello }' });
  await client.dispose();
}

main().then(
  () => { console.log(JSON.stringify(out)); process.exit(0); },
  (error) => { console.error(error); console.log(JSON.stringify({ error: String(error), partial: out })); process.exit(1); },
);
