// Apollo Client in a browser page, signed in with the API's session cookie: a query, a mutation
// and a live subscription. The browser keeps the cookie and sends it (`credentials: "include"`,
// and on the WebSocket's handshake) only within one site: serve the page and the API on the same
// host, e.g. the page on http://localhost:5173 and the API on http://localhost:8000, and list the
// page's origin in the API's CORS_ORIGINS (development allows http://localhost:5173 already).
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { createClient } from "graphql-ws";

// Vite reads VITE_API_URL from the environment or a .env file.
const API = import.meta.env?.VITE_API_URL ?? "http://localhost:8000";

const client = new ApolloClient({
  link: ApolloLink.split(
    (operation) => operation.operationType === "subscription",
    new GraphQLWsLink(createClient({ url: `${API.replace(/^http/, "ws")}/graphql` })),
    new HttpLink({ uri: `${API}/graphql`, credentials: "include" }),
  ),
  cache: new InMemoryCache(),
});

const $ = (id) => document.getElementById(id);
const describe = (t) => `${t.side} ${t.amount} ${t.currency} at ${t.price} by ${t.user.name}`;
const item = (text) => Object.assign(document.createElement("li"), { textContent: text });

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  // POST /auth/login sets the HttpOnly session cookie; `credentials: "include"` keeps it.
  const signIn = await fetch(`${API}/auth/login`, {
    method: "POST",
    credentials: "include",
    body: new URLSearchParams({ username: $("email").value, password: $("password").value }),
  }).catch(() => null); // the browser hides why: no server, or CORS refused this page's origin
  if (!signIn?.ok) {
    $("status").textContent = signIn
      ? `Sign-in failed: ${(await signIn.json()).detail}`
      : `Sign-in failed: is the API running at ${API}, with ${location.origin} in its CORS_ORIGINS?`;
    return;
  }
  const { data } = await client.query({
    query: gql`{ me { name } trades(limit: 3) { id seq side amount currency price user { name } } }`,
  });
  $("status").textContent = `Signed in as ${data.me.name}`;
  $("recent").append(...data.trades.map((t) => item(describe(t))));

  // Live trades after the newest one shown: the server replays what came since, then goes live.
  const after = data.trades.find((t) => t.seq !== null)?.seq ?? null;
  client
    .subscribe({
      query: gql`subscription ($after: String) {
        tradeAdded(after: $after) { id side amount currency price user { name } }
      }`,
      variables: { after },
    })
    .subscribe({
      next: ({ data: { tradeAdded: t } }) => $("live").prepend(item(`trade ${t.id}: ${describe(t)}`)),
      error: (error) => ($("status").textContent = `Live trades stopped: ${error.message}`),
    });
  $("buy").hidden = false;
});

$("buy").addEventListener("click", async () => {
  const { data } = await client.mutate({
    mutation: gql`mutation ($trades: [TradeInput!]!) { addTrades(trades: $trades) { id } }`,
    variables: { trades: [{ currency: "BTC", side: "BUY", price: "64000", amount: "0.01" }] },
  });
  $("added").textContent = `Added trade ${data.addTrades[0].id}`;
});
