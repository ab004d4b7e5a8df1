// Apollo Client's BatchHttpLink against a live server: operations issued together go in one POST
// (a JSON array), each gets its own result; a batch over the server's MAX_BATCH_SIZE fails as a whole.
// Usage: node apollo_batch_client.mjs http://host:port/graphql
// Prints one JSON object: each operation's outcome, and every HTTP exchange the link caused.
import { ApolloClient, InMemoryCache, gql } from '@apollo/client/core/index.js';
import { BatchHttpLink } from '@apollo/client/link/batch-http/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';
import { createHash } from 'node:crypto';

const [uri] = process.argv.slice(2);
const exchanges = [];

async function recordingFetch(url, options) {
  const sent = JSON.parse(options.body);
  const response = await fetch(url, options);
  const text = await response.text();
  exchanges.push({
    method: options.method,
    operations: Array.isArray(sent) ? sent.map((op) => op.operationName) : null,
    withText: Array.isArray(sent) ? sent.map((op) => 'query' in op) : null,
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: JSON.parse(text),
  });
  return new Response(text, { status: response.status, headers: response.headers });
}

function client(batchMax) {
  // batchInterval: operations issued in the same tick (and within 50 ms) share one request.
  const link = new BatchHttpLink({ uri, fetch: recordingFetch, batchMax, batchInterval: 50 });
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

async function outcome(promise) {
  try {
    const result = await promise;
    return result.errors ? { data: result.data ?? null, errors: result.errors.map((e) => e.message) }
                         : { data: result.data };
  } catch (error) {
    return { error: error.message };
  }
}

async function main() {
  const out = {};
  const apollo = client(10);
  const q = (name, text) => apollo.query({ query: gql(`query ${name} ${text}`), fetchPolicy: 'no-cache' });
  out.together = await Promise.all([
    outcome(q('One', '{ hello(name: "one") }')),
    outcome(apollo.mutate({ mutation: gql`mutation Echo { echo(text: "echoed") }` })),
    outcome(q('Two', '{ hello(name: "two") }')),
    outcome(q('Broken', '{ nope }')),
    outcome(apollo.query({ query: gql`query Partial { hello(name: "p") }`, fetchPolicy: 'no-cache',
                           errorPolicy: 'all' })),
  ]);
  out.togetherExchanges = exchanges.splice(0);

  const greedy = client(12);
  out.tooMany = await Promise.all(Array.from({ length: 12 }, (_, i) => outcome(
    greedy.query({ query: gql(`query Many${i} { hello(name: "${i}") }`), fetchPolicy: 'no-cache' }))));
  out.tooManyExchanges = exchanges.splice(0);

  // APQ per element: the persisted-queries link in front of the batch link. Both hashes miss, in one
  // batch; the link resends each with its text (registering it), then a new client hits by hash alone.
  const sha256 = (text) => createHash('sha256').update(text).digest('hex');
  const persisted = () => new ApolloClient({
    link: createPersistedQueryLink({ sha256 })
      .concat(new BatchHttpLink({ uri, fetch: recordingFetch, batchMax: 10, batchInterval: 50 })),
    cache: new InMemoryCache(),
  });
  const apq = persisted();
  const pq = (client, name) => outcome(client.query({ query: gql(`query ${name} { hello(name: "${name}") }`),
                                                      fetchPolicy: 'no-cache' }));
  out.apqFirst = await Promise.all([pq(apq, 'Apq1'), pq(apq, 'Apq2')]);
  out.apqFirstExchanges = exchanges.splice(0);
  const again = persisted();
  out.apqAgain = await Promise.all([pq(again, 'Apq1'), pq(again, 'Apq2')]);
  out.apqAgainExchanges = exchanges.splice(0);
  console.log(JSON.stringify(out));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
