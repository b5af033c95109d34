// GraphiQL at /graphql, loading only this origin's files: queries over JSON POSTs with the
// session cookie (which the server's CSRF rule lets through), subscriptions over
// graphql-transport-ws to this same origin, and a sign-in bar using POST /auth/login as the live
// page at / does. A bearer token goes in GraphiQL's Headers tab instead (see the page's note).
"use strict";

(() => {
  const DEFAULT_QUERY = `# Sign in above, or put a bearer token in the
# Headers tab below. Run with ▶ or Ctrl-Enter;
# the book icon on the left shows the schema.
{
  me {
    name
    email
  }
}
`;
  const $ = (id) => document.getElementById(id);
  const endpoint = new URL(window.location.pathname, window.location.origin);
  const socket = new URL(endpoint);
  socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

  /** fetch with the session cookie (the browser's default for this origin, said outright). */
  const sameOrigin = (input, init) => fetch(input, { ...init, credentials: "same-origin" });

  async function viewer() {
    const response = await sameOrigin(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "query Viewer { me { name } }" }),
    });
    const body = await response.json();
    return body.data ? body.data.me : null;
  }

  async function showSession() {
    let me = null;
    try {
      me = await viewer();
    } catch {
      $("sign-in-error").textContent = "The server cannot be reached.";
    }
    $("viewer").hidden = me === null;
    $("sign-in-form").hidden = me !== null;
    if (me !== null) $("viewer-name").textContent = me.name;
  }

  async function signIn(event) {
    event.preventDefault();
    const form = event.target;
    const error = $("sign-in-error");
    error.textContent = "";
    const response = await sameOrigin("/auth/login", {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
    });
    if (response.status === 204) {
      // GraphiQL loads the schema and opens its socket afresh, with the cookie.
      window.location.reload();
    } else if (response.status === 429) {
      error.textContent = "Too many failed sign-ins: try again later.";
    } else {
      error.textContent = "Incorrect email or password.";
    }
  }

  async function signOut() {
    await sameOrigin("/auth/logout", { method: "POST" });
    window.location.reload();
  }

  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  showSession();

  const fetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: socket.href,
    fetch: sameOrigin,
  });
  const root = ReactDOM.createRoot($("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: DEFAULT_QUERY,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      isHeadersEditorEnabled: true,
      // A token typed into the Headers tab stays in this tab, not in localStorage.
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    }),
  );
})();
