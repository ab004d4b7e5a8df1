// The npm subscriptions-transport-ws client (legacy graphql-ws protocol) against a live server.
// Usage: node subscriptions_transport_ws_client.mjs ws://host:port/graphql [rejected]
import WebSocket from 'ws';
import pkg from 'subscriptions-transport-ws';

const { SubscriptionClient } = pkg;
const [url, mode] = process.argv.slice(2);
const out = {};

function collect(client, request, limit = Infinity) {
  return new Promise((resolve, reject) => {
    const results = [];
    let subscription;
    subscription = client.request(request).subscribe({
      next: (result) => {
        results.push(result);
        if (results.length >= limit) { subscription.unsubscribe(); resolve(results); } // sends `stop`
      },
      error: (errors) => reject(errors),
      complete: () => resolve(results),
    });
  });
}

async function main() {
  if (mode === 'rejected') {
    out.connectionError = await new Promise((resolve) => {
      new SubscriptionClient(url, {
        reconnect: false,
        connectionParams: { reject: { message: 'no entry' } },
        connectionCallback: (error) => resolve(error),
      }, WebSocket);
    });
    return;
  }
  let kas = 0;
  const client = new SubscriptionClient(url + '?keepalive=0.05', {
    reconnect: false, connectionParams: { token: 'from-legacy' },
  }, WebSocket);
  client.onConnected(() => {});
  const ws = () => client.client;
  out.query = await collect(client, { query: '{ hello(name: "legacy") connectionParam(key: "token") }' });
  ws().addEventListener('message', (event) => { if (JSON.parse(event.data).type === 'ka') kas += 1; });
  out.mutation = await collect(client, { query: 'mutation ($t: String!) { echo(text: $t) }', variables: { t: 'old' } });
  out.count = await collect(client, { query: 'subscription { count(to: 3) }' });
  out.validation = await collect(client, { query: '{ nope }' }).catch((errors) => ({ rejected: errors }));
  out.failing = await collect(client, { query: 'subscription { failAfter(n: 1) }' })
    .catch((errors) => ({ rejected: errors }));
  const chat = [];
  await new Promise((resolve, reject) => {
    const subscription = client.request({
      query: 'subscription { joinChatRooms(rooms: [{roomName: "legacy"}], user: "old") { roomName message } }',
    }).subscribe({
      next: (result) => {
        chat.push(result);
        if (chat.length === 2) { // the confirming null, then the greeting
          collect(client, { query: 'mutation { sendChatMessage(room: {roomName: "legacy"}, message: "typed in legacy") }' })
            .catch(reject);
        } else if (chat.length === 3) { subscription.unsubscribe(); resolve(); }
      },
      error: reject,
    });
  });
  out.chat = chat;
  out.early = await collect(client, { query: 'subscription { count(to: 1000000, delay: 0.01) }' }, 2);
  await new Promise((resolve) => setTimeout(resolve, 200));
  out.after = await collect(client, { query: '{ hello }' });
  out.keepAlives = kas;
  client.close();
}

main().then(
  () => { console.log(JSON.stringify(out)); process.exit(0); },
  (error) => { console.error(error); console.log(JSON.stringify({ error: String(error), partial: out })); process.exit(1); },
);
