// Apollo Client's persisted-queries link against a live server: APQ miss, register, hit;
// a hash mismatch; and a manifest document sent by its id.
// Usage: node apollo_persisted_client.mjs http://host:port/graphql <manifest id of "query Hello">
// Prints one JSON object: every HTTP exchange the link caused, and each query's outcome.
import { createHash } from 'node:crypto';
import { ApolloClient, InMemoryCache, HttpLink, gql } from '@apollo/client/core/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';

const [uri, helloId] = process.argv.slice(2);
const exchanges = [];

// Records what went over the wire, so the test can compare it with Apollo's protocol.
async function recordingFetch(url, options) {
  const parsed = new URL(url);
  const sent = options.method === 'GET'
    ? Object.fromEntries(parsed.searchParams)
    : JSON.parse(options.body);
  const response = await fetch(url, options);
  const text = await response.text();
  exchanges.push({
    method: options.method,
    sent: {
      hasQuery: 'query' in sent,
      operationName: sent.operationName,
      extensions: typeof sent.extensions === 'string' ? JSON.parse(sent.extensions) : sent.extensions,
    },
    status: response.status,
    cacheControl: response.headers.get('cache-control'),
    body: JSON.parse(text),
  });
  return new Response(text, { status: response.status, headers: response.headers });
}

function client(options) {
  const link = createPersistedQueryLink({ useGETForHashedQueries: true, ...options })
    .concat(new HttpLink({ uri, fetch: recordingFetch }));
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

async function outcome(apollo, query) {
  try {
    const result = await apollo.query({ query, fetchPolicy: 'no-cache' });
    return { data: result.data };
  } catch (error) {
    return { error: error.message };
  }
}

async function main() {
  const out = {};
  const greet = gql`query ApolloGreet { hello(name: "apollo") }`;
  const apq = client({ sha256 });
  out.first = await outcome(apq, greet);
  out.second = await outcome(apq, greet);
  out.apq = exchanges.splice(0);

  const lying = client({ generateHash: () => '0'.repeat(64) });
  out.mismatch = await outcome(lying, gql`query Lying { hello(name: "liar") }`);
  out.mismatchExchanges = exchanges.splice(0);

  // A persisted query list: the client knows each document's id from the manifest.
  const listed = client({ generateHash: () => helloId });
  out.manifest = await outcome(listed, gql`query Hello { hello }`);
  out.manifestExchanges = exchanges.splice(0);
  console.log(JSON.stringify(out));
}

main().catch((error) => {
  console.log(JSON.stringify({ crashed: String(error && error.stack || error) }));
  process.exit(1);
});
