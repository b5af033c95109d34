// Drives the live trades page in headless Chromium (Debian's package) with playwright-core:
// two browser contexts, two cookie jars. B signs in and watches the tape; A signs in and adds a
// trade through the form; the trade must reach the top of B's tape. Prints what it saw as JSON;
// tests/browser/test_live_page.py makes the assertions.
//
// usage: node live_page.mjs '<json config>'  (see test_live_page.py for the fields)
import { launch, onlyOrigin, watchProblems } from "./browser.mjs";

const config = JSON.parse(process.argv[2]);
const timeout = config.timeoutMs ?? 15000;
const started = Date.now();
const elapsed = () => Date.now() - started;
const steps = [];
const step = (name) => steps.push({ name, ms: elapsed() });
// Anything the page logs as an error (a CSP violation, an exception, a failed request) is a
// failure of the page, reported to the test.
const problems = [];
// Requests to any other host or port, aborted: the page must need none.
const blocked = [];

const browser = await launch(config, timeout);

async function signedIn(name, account) {
  const context = await browser.newContext({
    viewport: { width: 1200, height: 760 },
    deviceScaleFactor: 1,
    locale: "en-GB",
    timezoneId: "UTC",
  });
  context.setDefaultTimeout(timeout);
  await onlyOrigin(context, new URL(config.baseUrl).origin, blocked);
  const page = await context.newPage();
  watchProblems(page, name, problems);
  const response = await page.goto(config.baseUrl + "/");
  const csp = response.headers()["content-security-policy"] ?? null;
  await page.locator("#sign-in").waitFor({ state: "visible" });
  await page.fill("#email", account.email);
  await page.fill("#password", account.password);
  await page.click("#sign-in-form button[type=submit]");
  await page.locator("#viewer-name").filter({ hasText: account.name }).waitFor();
  await page.locator('#connection[data-state="live"]').waitFor();
  const cookies = (await context.cookies()).map((c) => ({
    name: c.name,
    httpOnly: c.httpOnly,
    sameSite: c.sameSite,
  }));
  step(`${name} signed in and connected`);
  return { context, page, csp, cookies };
}

/** Wait until the server holds `count` tradeAdded subscriptions (liveStats, as an admin): a
 * trade added before B's subscription is registered would never reach B's socket. */
async function subscriptions(count) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const response = await fetch(config.baseUrl + "/graphql", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${config.adminToken}`,
      },
      body: JSON.stringify({ query: "{ liveStats { subscriptions } }" }),
    });
    const body = await response.json();
    if (body.data?.liveStats?.subscriptions >= count) return;
    if (Date.now() > deadline) throw new Error(`liveStats never showed ${count}: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let result;
const pages = {};
try {
  const watcher = await signedIn("B", config.watcher);
  pages.B = watcher.page;
  const trader = await signedIn("A", config.trader);
  pages.A = trader.page;
  await subscriptions(2);
  const rowsBefore = await watcher.page.locator("#tape tr").count();

  const { page } = trader;
  await page.fill("#currency", config.trade.currency);
  await page.selectOption("#side", config.trade.side);
  await page.fill("#price", config.trade.price);
  await page.fill("#amount", config.trade.amount);
  await page.click("#trade-form button[type=submit]");
  const added = page.locator("#trade-result[data-trade-id]");
  await added.waitFor();
  const tradeId = Number(await added.getAttribute("data-trade-id"));
  step("A added the trade");

  const top = watcher.page.locator("#tape tr").first();
  await watcher.page.locator(`#tape tr:first-child[data-trade-id="${tradeId}"]`).waitFor();
  step("the trade is at the top of B's tape");
  const cellText = (selector) => top.locator(selector).innerText();
  const chart = watcher.page.locator(`.chart[data-currency="${config.trade.currency}"]`);
  // The trade reaches B's chart as a candleUpdated push (not a refetch, not the tape's trade).
  await chart
    .locator(`.candle[data-source="live"][data-close="${config.trade.price}000000"]`)
    .first()
    .waitFor();
  step("the trade's candle is on B's chart");
  // Let the new row's highlight fade before the picture.
  await watcher.page.waitForTimeout(1600);
  await watcher.page.screenshot({ path: config.screenshot, fullPage: false });
  step("screenshot");

  result = {
    tradeId,
    rowsBefore,
    top: {
      id: Number(await top.getAttribute("data-trade-id")),
      source: await top.getAttribute("data-source"),
      className: await top.getAttribute("class"),
      currency: await cellText(".currency"),
      side: await cellText(".side"),
      price: await cellText(".price"),
      amount: await cellText(".amount"),
      trader: await cellText(".trader"),
      sideColor: await top.locator(".side").evaluate((e) => getComputedStyle(e).color),
    },
    rows: await watcher.page.locator("#tape tr").count(),
    chart: {
      last: await chart.locator(".last").innerText(),
      candles: await chart.locator(".candle").evaluateAll((groups) =>
        groups.map((g) =>
          Object.fromEntries(
            ["start", "open", "high", "low", "close", "volume", "trades", "source"].map((key) => [
              key,
              g.getAttribute(`data-${key}`),
            ]),
          ),
        ),
      ),
    },
    traderRows: await page.locator("#tape tr").count(),
    csp: watcher.csp,
    cookies: watcher.cookies,
  };

  // Signing out closes A's socket and brings back the form; B keeps watching.
  const oldCookie = (await trader.context.cookies()).find((c) => c.name === "access_token");
  await page.click("#sign-out");
  await page.locator("#sign-in").waitFor({ state: "visible" });
  result.afterSignOut = {
    trader: await page.locator("#connection").getAttribute("data-state"),
    tapeHidden: await page.locator("#tape-panel").isHidden(),
    cookies: (await trader.context.cookies()).map((c) => c.name),
    watcher: await watcher.page.locator("#connection").getAttribute("data-state"),
  };
  step("A signed out");

  // A browser still holding the logged-out cookie (another tab, a restored session): the page
  // shows the sign-in form with the reason, and the refusal deletes the cookie.
  const stale = await browser.newContext();
  await stale.addCookies([{ ...oldCookie, expires: -1 }]);
  const stalePage = await stale.newPage();
  stalePage.on("pageerror", (error) => problems.push(`stale page error: ${error.message}`));
  await stalePage.goto(config.baseUrl + "/");
  await stalePage.locator("#sign-in").waitFor({ state: "visible" });
  await stalePage.locator("#sign-in-error").filter({ hasText: "session has ended" }).waitFor();
  result.staleCookie = {
    message: await stalePage.locator("#sign-in-error").innerText(),
    tapeHidden: await stalePage.locator("#tape-panel").isHidden(),
    cookies: (await stale.cookies()).map((c) => c.name),
  };
  step("a stale cookie shows the sign-in form");
} catch (error) {
  // What each page showed when it went wrong, next to the screenshot's path.
  for (const [name, page] of Object.entries(pages)) {
    await page.screenshot({ path: config.screenshot.replace(/\.png$/, `-failed-${name}.png`) });
  }
  console.error(JSON.stringify({ problems, blocked, steps }, null, 2));
  throw error;
} finally {
  await browser.close();
}
console.log(JSON.stringify({ ...result, problems, blocked, steps, totalMs: elapsed() }));
