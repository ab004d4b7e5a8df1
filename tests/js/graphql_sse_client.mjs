// The npm graphql-sse client against a live server, in one of the protocol's two modes.
// Usage: node graphql_sse_client.mjs http://host:port/graphql distinct|single ROOM [OTHER_URL]
//   ROOM: the chat room its chat subscriptions join (and leave when they abort).
//   OTHER_URL: another server process (sharing a Redis layer): a second client there, in
//   the same mode, joins the room first and must see what is said through the first.
// Prints one JSON object with everything it saw.
import { createClient } from 'graphql-sse';

const [url, mode, room, otherUrl] = process.argv.slice(2);
const single = mode === 'single';
const out = { mode };

async function collect(client, payload, limit = Infinity) {
  console.error('running', JSON.stringify(payload)); // progress, for a test that times out
  const results = [];
  for await (const result of client.iterate(payload)) {
    results.push(result);
    if (results.length >= limit) break; // break aborts the stream (distinct) or DELETEs the operation (single)
  }
  return results;
}

async function main() {
  const client = createClient({ url, singleConnection: single, retryAttempts: 0 });
  out.query = await collect(client, { query: '{ hello(name: "sse") }' });
  out.mutation = await collect(client, { query: 'mutation ($t: String!) { echo(text: $t) }', variables: { t: 'echoed' } });
  out.count = await collect(client, { query: 'subscription { count(to: 3) }' });
  if (!single) {
    // Distinct mode streams request errors as a result; single mode refuses them in the POST's reply.
    out.validation = await collect(client, { query: '{ nope }' });
  }
  // Chat: subscribe, see the confirmation and the greeting, send a message, see it, leave.
  const join = (who) => ({
    query: 'subscription ($rooms: [ChatRoom!]!, $user: String!) { joinChatRooms(rooms: $rooms, user: $user) { roomName message } }',
    variables: { rooms: [{ roomName: room }], user: who },
  });
  let other, otherIterator;
  if (otherUrl) {
    other = createClient({ url: otherUrl, singleConnection: single, retryAttempts: 0 });
    otherIterator = other.iterate(join('other'))[Symbol.asyncIterator]();
    out.otherStart = [(await otherIterator.next()).value, (await otherIterator.next()).value];
  }
  const chat = [];
  console.error('chat');
  const iterator = client.iterate(join('sse'))[Symbol.asyncIterator]();
  chat.push((await iterator.next()).value); // the confirming null
  chat.push((await iterator.next()).value); // the greeting
  await collect(client, {
    query: 'mutation ($room: String!) { sendChatMessage(room: {roomName: $room}, message: "typed in node") }',
    variables: { room },
  });
  chat.push((await iterator.next()).value);
  await iterator.return(); // aborts: the server stops the generator and leaves the room
  out.chat = chat;
  if (other) {
    const seen = [];
    for (;;) {
      const { value } = await otherIterator.next();
      seen.push(value);
      if (value.data.joinChatRooms.message === 'typed in node') break;
    }
    out.otherSeen = seen;
    await otherIterator.return();
    other.dispose();
  }
  // A long subscription ended early by the client.
  out.early = await collect(client, { query: 'subscription { count(to: 1000000, delay: 0.01) }' }, 2);
  out.after = await collect(client, { query: '{ hello }' });
  client.dispose();
}

main().then(
  () => { console.log(JSON.stringify(out)); process.exit(0); },
  (error) => { console.error(error); console.log(JSON.stringify({ error: String(error), partial: out })); process.exit(1); },
);
