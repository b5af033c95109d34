// Apollo Client in Node with automatic persisted queries: each query is sent as its sha256 alone;
// the first time, the server answers PERSISTED_QUERY_NOT_FOUND and the link sends the document
// with the hash (the server stores it); from then on the hash alone is enough.
// Run it next to `make run`: `npm ci && node node-persisted.mjs` (Node 20 or later); add `--get`
// to send the hashes with GET, which a CDN may cache.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { createHash } from "node:crypto";

const API = process.env.API_URL ?? "http://localhost:8000";
const useGET = process.argv.includes("--get");

const signIn = await fetch(`${API}/auth/token`, {
  method: "POST",
  body: new URLSearchParams({ username: "demo@example.com", password: "demo-password-1" }),
});
if (!signIn.ok) throw new Error(`sign-in failed: ${signIn.status} ${await signIn.text()}`);
const { access_token: token } = await signIn.json();

// What each request carried and what it was answered, as the server saw it: recorded around the
// global fetch, which the HTTP link calls.
const sent = [];
const plainFetch = globalThis.fetch;
globalThis.fetch = async function recordingFetch(url, init) {
  const method = init?.method ?? "GET";
  const request = method === "GET"
    ? Object.fromEntries(new URL(url).searchParams)
    : JSON.parse(init.body);
  const extensions = typeof request.extensions === "string"
    ? JSON.parse(request.extensions)
    : request.extensions;
  const response = await plainFetch(url, init);
  const answer = await response.clone().json();
  sent.push({
    method,
    hash: extensions?.persistedQuery?.sha256Hash ?? null,
    document: request.query ?? null,
    code: answer.errors?.[0]?.extensions?.code ?? null,
  });
  return response;
};

// The persisted query link goes before the HTTP link; sha256 from Node's own crypto.
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const client = new ApolloClient({
  link: new PersistedQueryLink({ sha256, useGETForHashedQueries: useGET }).concat(
    new HttpLink({ uri: `${API}/graphql`, headers: { authorization: `Bearer ${token}` } }),
  ),
  cache: new InMemoryCache(),
});

// The README's queries, each run twice: the second run is answered from the hash alone.
const queries = [
  gql`{ me { name } trades(limit: 3) { id seq side amount currency price } }`,
  gql`{ me { name } trades(limit: 3) { id price } }`,
];
for (const query of queries) {
  for (let round = 0; round < 2; round += 1) {
    const { data } = await client.query({ query, fetchPolicy: "network-only" });
    console.log(`${data.me.name}: ${data.trades.map((t) => t.price).join(", ")}`);
  }
}
for (const { method, hash, document, code } of sent) {
  console.log(`${method} ${hash ? "hash" : "-"} ${document ? "document" : "-"}: ${code ?? "data"}`);
}
console.log(`sent: ${JSON.stringify(sent)}`);
