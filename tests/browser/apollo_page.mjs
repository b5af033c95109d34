// Drives the Apollo Client example page (examples/apollo/browser) in headless Chromium with
// playwright-core: signs in with the form, then, when signed in, buys through the page's button
// and waits for that trade on the page's live list. Every request off this machine is blocked.
// Prints what it saw as JSON; tests/examples/test_apollo.py makes the assertions.
//
// usage: node apollo_page.mjs '{"pageUrl": ..., "chromium": ...}'
import { launch } from "./browser.mjs";

const config = JSON.parse(process.argv[2]);
const timeout = config.timeoutMs ?? 20000;
const problems = [];

const browser = await launch(config, timeout);
try {
  const context = await browser.newContext();
  context.setDefaultTimeout(timeout);
  await context.route(/.*/, (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === "localhost" || hostname === "127.0.0.1") return route.continue();
    problems.push(`off-host request: ${route.request().url()}`);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));

  await page.goto(config.pageUrl);
  await page.click("#sign-in button");
  const status = page.locator("#status");
  await status.filter({ hasText: /Signed in as|failed/ }).waitFor();
  const seen = { status: await status.textContent() };
  if (seen.status.startsWith("Signed in")) {
    seen.recent = await page.locator("#recent li").allTextContents();
    await page.click("#buy");
    const added = page.locator("#added").filter({ hasText: /Added trade \d+/ });
    await added.waitFor();
    seen.added = await added.textContent();
    const id = seen.added.match(/\d+/)[0];
    const live = page.locator("#live li").filter({ hasText: `trade ${id}:` });
    await live.waitFor();
    seen.live = await live.textContent();
  }
  seen.cookies = (await context.cookies()).map((c) => ({ name: c.name, domain: c.domain }));
  seen.problems = problems;
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
