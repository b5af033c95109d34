// Apollo Client in Node, signed in with the session cookie of POST /auth/login: a query, a
// mutation and a live subscription. Node keeps no cookie jar, so this script carries the cookie
// itself, as a Cookie header on HTTP requests and on the WebSocket's handshake.
// Run it next to `make run`: `npm ci && node node-cookie.mjs` (Node 20 or later).
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { createClient } from "graphql-ws";
import { filter, firstValueFrom, shareReplay } from "rxjs";
import WebSocket from "ws";

const API = process.env.API_URL ?? "http://localhost:8000";

// 1. Sign in: POST /auth/login takes a form (username, password) and sets the session cookie.
const signIn = await fetch(`${API}/auth/login`, {
  method: "POST",
  body: new URLSearchParams({ username: "demo@example.com", password: "demo-password-1" }),
});
if (!signIn.ok) throw new Error(`sign-in failed: ${signIn.status} ${await signIn.text()}`);
// "access_token=eyJ...; HttpOnly; Max-Age=...; Path=/; SameSite=lax": keep the name=value part.
const cookie = signIn.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");

// 2. Queries and mutations go over HTTP, the cookie in a Cookie header.
const httpLink = new HttpLink({ uri: `${API}/graphql`, headers: { cookie } });
// 3. Subscriptions go over a WebSocket (graphql-ws). Node 20 has no WebSocket of its own, so the
// `ws` package provides it; graphql-ws opens it as `new WebSocket(url, protocol)`, so a subclass
// adds the Cookie header to the handshake.
class WebSocketWithCookie extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols, { headers: { cookie } });
  }
}
const sockets = createClient({
  url: `${API.replace(/^http/, "ws")}/graphql`,
  webSocketImpl: WebSocketWithCookie,
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
