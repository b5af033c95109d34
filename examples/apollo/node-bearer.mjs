// Apollo Client in Node, signed in with a bearer token: a query, a mutation and a live
// subscription. Run it next to `make run`: `npm ci && node node-bearer.mjs` (Node 20 or later).
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { createClient } from "graphql-ws";
import { filter, firstValueFrom, shareReplay } from "rxjs";
import WebSocket from "ws";

const API = process.env.API_URL ?? "http://localhost:8000";

// 1. Sign in: POST /auth/token takes a form (username, password) and answers a token.
const signIn = await fetch(`${API}/auth/token`, {
  method: "POST",
  body: new URLSearchParams({ username: "demo@example.com", password: "demo-password-1" }),
});
if (!signIn.ok) throw new Error(`sign-in failed: ${signIn.status} ${await signIn.text()}`);
const { access_token: token } = await signIn.json();

// 2. Queries and mutations go over HTTP, the token in the Authorization header.
const httpLink = new HttpLink({
  uri: `${API}/graphql`,
  headers: { authorization: `Bearer ${token}` },
});
// 3. Subscriptions go over a WebSocket (graphql-ws). Node 20 has no WebSocket of its own, so the
// `ws` package provides it; the token travels in the connection_init message.
const sockets = createClient({
  url: `${API.replace(/^http/, "ws")}/graphql`,
  webSocketImpl: WebSocket,
  connectionParams: { authToken: token },
});
const client = new ApolloClient({
  link: ApolloLink.split(
    (operation) => operation.operationType === "subscription",
    new GraphQLWsLink(sockets),
    httpLink,
  ),
  cache: new InMemoryCache(),
});

const { data } = await client.query({
  query: gql`{ me { name } trades(limit: 3) { id seq side amount currency price } }`,
});
console.log(`signed in as ${data.me.name}`);
for (const t of data.trades) console.log(`recent: ${t.side} ${t.amount} ${t.currency} at ${t.price}`);

// Live trades, starting after the newest trade seen: the server first replays what came since,
// so the trade added below arrives even if it is committed before the socket is ready.
const after = data.trades.find((t) => t.seq !== null)?.seq ?? null;
const live = client
  .subscribe({
    query: gql`subscription ($after: String) {
      tradeAdded(after: $after) { id side amount currency price user { name } }
    }`,
    variables: { after },
  })
  .pipe(shareReplay()); // one socket subscription, its events kept for every reader below
live.subscribe(({ data: { tradeAdded: t } }) =>
  console.log(`live: trade ${t.id}, ${t.side} ${t.amount} ${t.currency} by ${t.user.name}`),
);

const { data: added } = await client.mutate({
  mutation: gql`mutation ($trades: [TradeInput!]!) { addTrades(trades: $trades) { id } }`,
  variables: { trades: [{ currency: "BTC", side: "BUY", price: "64000", amount: "0.01" }] },
});
const mine = added.addTrades[0].id;
console.log(`added trade ${mine}`);

await firstValueFrom(live.pipe(filter(({ data }) => data.tradeAdded.id === mine)));
await sockets.dispose(); // close the socket, so that Node can exit
