// Apollo Client's HttpLink against a live server: subscriptions over multipart HTTP
// (Apollo's "Multipart HTTP protocol for GraphQL subscriptions"), with queries and
// mutations on the same link, as an app without a WebSocket link would run them.
// Usage: node apollo_multipart_client.mjs http://host:port/graphql ROOM
//   ROOM: the chat room its chat subscription joins (and leaves when it unsubscribes).
// Prints one JSON object with everything it saw, and the Accept header Apollo sent.
import { ApolloClient, InMemoryCache, HttpLink, gql } from '@apollo/client/core/index.js';

const [uri, room] = process.argv.slice(2);
const accepts = [];

async function recordingFetch(url, options) {
  accepts.push(options.headers.accept ?? null);
  return fetch(url, options);
}

const client = new ApolloClient({
  link: new HttpLink({ uri, fetch: recordingFetch }),
  cache: new InMemoryCache(),
  defaultOptions: { query: { fetchPolicy: 'no-cache' }, mutate: { fetchPolicy: 'no-cache' } },
});

function describe(error) {
  return {
    message: error.message,
    graphQLErrors: (error.graphQLErrors ?? []).map((e) => ({ message: e.message, extensions: e.extensions })),
    protocolErrors: (error.protocolErrors ?? []).map((e) => ({ message: e.message, extensions: e.extensions })),
    networkError: error.networkError ? String(error.networkError) : null,
  };
}

// Every result of a subscription until it completes, fails, or `limit` results came
// (then it unsubscribes, which aborts the request).
function collect(query, variables = {}, limit = Infinity, onResult = () => {}) {
  console.error('subscribing', query); // progress, for a test that times out
  return new Promise((resolve) => {
    const results = [];
    const subscription = client.subscribe({ query: gql(query), variables, fetchPolicy: 'no-cache' }).subscribe({
      next(result) {
        results.push({ data: result.data ?? null, ...(result.errors ? { errors: result.errors } : {}) });
        onResult(results.length);
        if (results.length >= limit) {
          subscription.unsubscribe();
          resolve({ results, ended: 'unsubscribed' });
        }
      },
      error(error) { resolve({ results, ended: 'error', error: describe(error) }); },
      complete() { resolve({ results, ended: 'complete' }); },
    });
  });
}

async function main() {
  const out = {};
  out.query = (await client.query({ query: gql`{ hello(name: "apollo") }` })).data;
  out.mutation = (await client.mutate({ mutation: gql`mutation { echo(text: "echoed") }` })).data;
  out.count = await collect('subscription { count(to: 3) }');
  // Chat: the confirmation and the greeting, then a message sent over the same link, then leave.
  const said = new Promise((resolve) => {
    out.chat = collect(
      'subscription ($rooms: [ChatRoom!]!) { joinChatRooms(rooms: $rooms, user: "apollo") { roomName message } }',
      { rooms: [{ roomName: room }] }, 3,
      (n) => { if (n === 2) resolve(); },
    );
  });
  await said;
  await client.mutate({
    mutation: gql`mutation ($room: String!) { sendChatMessage(room: {roomName: $room}, message: "typed in apollo") }`,
    variables: { room },
  });
  out.chat = await out.chat;
  // A long subscription ended early by the client.
  out.early = await collect('subscription { count(to: 1000000, delay: 0.01) }', {}, 2);
  // A generator that raises: a transport-level error, Apollo's protocolErrors.
  out.failing = await collect('subscription { failAfter(n: 1) }');
  // A request error: answered as JSON, Apollo's graphQLErrors.
  out.validation = await collect('subscription { nope }');
  out.after = (await client.query({ query: gql`{ hello }` })).data;
  out.accepts = accepts;
  return out;
}

main().then(
  (out) => { console.log(JSON.stringify(out)); process.exit(0); },
  (error) => { console.error(error); console.log(JSON.stringify({ error: String(error) })); process.exit(1); },
);
