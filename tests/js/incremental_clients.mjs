// Incremental delivery (@defer, @stream) through real clients against a live server:
// Apollo Client over HTTP (multipart/mixed;deferSpec=20220824), graphql-ws (graphql-transport-ws)
// and graphql-sse (both modes).
// Usage: node incremental_clients.mjs http://host:port/graphql ws://host:port/graphql
// Prints one JSON object with everything the clients saw.
import WebSocket from 'ws';
import { ApolloClient, InMemoryCache, HttpLink, gql, execute } from '@apollo/client/core/index.js';
import { createClient as createWsClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';

const [httpUrl, wsUrl] = process.argv.slice(2);
const out = {};

const deferred = gql`query Deferred { hello ... @defer(label: "late") { slow(ms: 200) } }`;
const failing = gql`query Failing { items { id ... @defer { name secret } } }`;
const streamed = '{ letters @stream(initialCount: 1) }';

// What the server answered, as Apollo's HttpLink fetched it (the request's Accept, the reply's type).
const exchanges = [];
async function recordingFetch(url, options) {
  const response = await fetch(url, options);
  exchanges.push({ accept: options.headers.accept, contentType: response.headers.get('content-type'),
                   status: response.status });
  return response;
}

// Every result an ObservableQuery emits, until the one without pending parts.
function watch(apollo, query) {
  return new Promise((resolve, reject) => {
    const seen = [];
    const subscription = apollo.watchQuery({ query, fetchPolicy: 'no-cache', errorPolicy: 'all' }).subscribe({
      next(result) {
        seen.push({ data: result.data, errors: (result.errors || []).map((e) => e.message), loading: result.loading });
        if (!result.loading && result.data && ('slow' in result.data || result.data.items?.every((i) => 'name' in i))) {
          subscription.unsubscribe();
          resolve(seen);
        }
      },
      error(error) { reject(error); },
    });
  });
}

// The link's own chunks: each part of the multipart response, as Apollo parsed it.
function chunks(link, query) {
  return new Promise((resolve, reject) => {
    const seen = [];
    execute(link, { query }).subscribe({ next: (r) => seen.push(r), error: reject, complete: () => resolve(seen) });
  });
}

async function collect(client, payload) {
  const results = [];
  for await (const result of client.iterate(payload)) results.push(result);
  return results;
}

async function main() {
  const link = new HttpLink({ uri: httpUrl, fetch: recordingFetch });
  const apollo = new ApolloClient({ link, cache: new InMemoryCache() });
  out.apolloChunks = await chunks(link, deferred);
  out.apolloWatch = await watch(apollo, deferred);
  out.apolloErrors = await watch(apollo, failing);
  out.exchanges = exchanges;

  const ws = createWsClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  out.wsDefer = await collect(ws, { query: deferred.loc.source.body });
  out.wsStream = await collect(ws, { query: streamed });
  await ws.dispose();

  const sse = createSseClient({ url: httpUrl, retryAttempts: 0 });
  out.sseDefer = await collect(sse, { query: deferred.loc.source.body });
  out.sseStream = await collect(sse, { query: streamed });
  sse.dispose();

  const single = createSseClient({ url: httpUrl, retryAttempts: 0, singleConnection: true });
  out.sseSingleDefer = await collect(single, { query: deferred.loc.source.body });
  single.dispose();
}

main().then(
  () => { process.stdout.write(JSON.stringify(out)); process.exit(0); },
  (error) => { console.error(error); process.stdout.write(JSON.stringify({ ...out, failure: String(error) })); process.exit(1); },
);
