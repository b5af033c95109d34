// Drives GraphiQL (/graphql), Swagger UI (/docs) and ReDoc (/redoc) in headless Chromium with
// every request to another host aborted: signs in on GraphiQL's bar, waits for the schema, types
// a query into the editor and runs it with the run button, then a subscription that receives a
// trade added meanwhile. Prints what it saw as JSON; tests/browser/test_playground.py makes the
// assertions.
//
// usage: node playground.mjs '<json config>'  (see test_playground.py for the fields)
import { launch, onlyOrigin, watchProblems } from "./browser.mjs";

const config = JSON.parse(process.argv[2]);
const timeout = config.timeoutMs ?? 20000;
const origin = new URL(config.baseUrl).origin;
const problems = [];
const blocked = [];
const steps = [];
const started = Date.now();
const step = (name) => steps.push({ name, ms: Date.now() - started });
const shot = (page, name) => page.screenshot({ path: `${config.artifacts}/${name}.png` });

const browser = await launch(config, timeout);
const context = await browser.newContext({
  viewport: { width: 1280, height: 800 },
  locale: "en-GB",
  timezoneId: "UTC",
});
context.setDefaultTimeout(timeout);
await onlyOrigin(context, origin, blocked);
const page = await context.newPage();
watchProblems(page, "page", problems);

/** The status of the next POST /graphql sent with the session cookie whose body contains
 * `marker`, once `action` ran. */
async function graphqlStatus(marker, action) {
  const [response] = await Promise.all([
    page.waitForResponse(
      async (r) =>
        r.url() === `${origin}/graphql` &&
        r.request().method() === "POST" &&
        (r.request().postData() ?? "").includes(marker) &&
        ((await r.request().allHeaders()).cookie ?? "").includes("access_token="),
    ),
    action(),
  ]);
  return response.status();
}

/** Replace the query editor's text by typing `text`, as a person would. */
async function typeQuery(text) {
  await page.click(".graphiql-query-editor .CodeMirror");
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(text);
  // GraphiQL parses the document 100 ms after the last keystroke, and picks HTTP or the socket
  // by that parse: a person does not press run sooner.
  await page.waitForTimeout(400);
  // CodeMirror closes brackets as they are typed: what it holds is what runs.
  return page
    .locator(".graphiql-query-editor .CodeMirror")
    .evaluate((element) => element.CodeMirror.getValue());
}

/** A GraphQL operation from Node (not the page) with a bearer token. */
async function graphql(token, query, variables) {
  const response = await fetch(`${origin}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}

/** Wait until the server holds a tradeAdded subscription (liveStats, as an admin). */
async function subscribed() {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const body = await graphql(config.adminToken, "{ liveStats { subscriptions } }");
    if (body.data?.liveStats?.subscriptions >= 1) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the subscription never reached the server");
}

const result = {};
try {
  // --- GraphiQL, signed out, then signed in through its bar -----------------------------------
  const ide = await page.goto(`${origin}/graphql`, { waitUntil: "domcontentloaded" });
  result.graphiqlPolicy = ide.headers()["content-security-policy"] ?? null;
  await page.locator(".graphiql-query-editor .CodeMirror").waitFor();
  await page.locator("#sign-in-form").waitFor({ state: "visible" });
  step("GraphiQL rendered, signed out");

  await page.fill("#email", config.user.email);
  await page.fill("#password", config.user.password);
  // Signing in reloads the page: GraphiQL introspects again, now with the cookie.
  result.introspection = await graphqlStatus("__schema", () =>
    page.click("#sign-in-form button[type=submit]"),
  );
  await page.locator("#viewer-name").filter({ hasText: config.user.name }).waitFor();
  result.viewer = await page.locator("#viewer-name").innerText();
  await page.locator(".graphiql-query-editor .CodeMirror").waitFor();
  step("signed in, schema loaded");

  await page.click('button[aria-label="Show Documentation Explorer"]');
  const docs = page.locator(".graphiql-doc-explorer");
  await docs.getByText("Query", { exact: true }).first().waitFor();
  result.docExplorer = await docs.innerText();
  step("doc explorer");

  result.editor = await typeQuery(config.query);
  result.run = await graphqlStatus("name email", () => page.click(".graphiql-execute-button"));
  const pane = page.locator(".graphiql-response .CodeMirror");
  await pane.getByText(config.user.name).waitFor();
  result.response = JSON.parse(await pane.evaluate((element) => element.CodeMirror.getValue()));
  await shot(page, "graphiql");
  step("query run from the editor");

  // A subscription goes over graphql-transport-ws to this origin, signed in by the cookie.
  const sockets = [];
  page.on("websocket", (socket) => sockets.push(socket.url()));
  result.subscriptionEditor = await typeQuery(config.subscription);
  await page.click(".graphiql-execute-button");
  await subscribed();
  const added = await graphql(
    config.userToken,
    "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id } }",
    { t: [config.trade] },
  );
  result.addedTradeId = added.data.addTrades[0].id;
  await pane.getByText(`"id": ${result.addedTradeId}`).waitFor();
  result.pushed = JSON.parse(await pane.evaluate((element) => element.CodeMirror.getValue()));
  result.sockets = sockets;
  step("subscription run from the editor");

  // --- Swagger UI and ReDoc ---------------------------------------------------------------------
  const swagger = await page.goto(`${origin}/docs`);
  result.swaggerPolicy = swagger.headers()["content-security-policy"] ?? null;
  await page.locator('.opblock-summary-path[data-path="/auth/login"]').waitFor();
  result.swaggerPaths = await page.locator(".opblock-summary-path").evaluateAll((elements) =>
    elements.map((element) => element.dataset.path),
  );
  await shot(page, "swagger-ui");
  step("Swagger UI");

  await page.goto(`${origin}/redoc`);
  const title = page.locator(".api-info h1");
  await title.waitFor();
  result.redocTitle = await title.innerText();
  await shot(page, "redoc");
  step("ReDoc");
} catch (error) {
  await shot(page, "failed");
  console.error(JSON.stringify({ result, problems, blocked, steps }, null, 2));
  throw error;
} finally {
  await browser.close();
}
console.log(JSON.stringify({ ...result, problems, blocked, steps }));
