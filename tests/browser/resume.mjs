// The live page resumes its tape over a server restart: graphql-ws retries the socket and sends
// the subscription again with `after` = the last seq the page saw (its variables are read at each
// send), so trades committed while the page was cut off arrive as live trades, each once.
//
// Talks to tests/browser/test_live_page.py over stdin/stdout, one JSON object per line:
//   it prints {"ready": true} once signed in and live; then for each {"wait": [ids]} it reads,
//   it waits until those trades are on the tape and prints what it saw of them.
// usage: node resume.mjs '<json config>'
import { createInterface } from "node:readline";
import { launch } from "./browser.mjs";

const config = JSON.parse(process.argv[2]);
const timeout = config.timeoutMs ?? 45000;
const problems = [];
const say = (value) => console.log(JSON.stringify(value));

const browser = await launch(config, timeout);
try {
  const context = await browser.newContext({ locale: "en-GB", timezoneId: "UTC" });
  context.setDefaultTimeout(timeout);
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  await page.goto(config.baseUrl + "/");
  await page.fill("#email", config.watcher.email);
  await page.fill("#password", config.watcher.password);
  await page.click("#sign-in-form button[type=submit]");
  await page.locator('#connection[data-state="live"]').waitFor();
  say({ ready: true });

  for await (const line of createInterface({ input: process.stdin })) {
    const { wait } = JSON.parse(line);
    const seen = [];
    for (const id of wait) {
      const row = page.locator(`#tape tr[data-trade-id="${id}"]`);
      await row.waitFor();
      seen.push({ id, source: await row.getAttribute("data-source") });
    }
    say({
      seen,
      rows: await page.locator("#tape tr").count(),
      connection: await page.locator("#connection").getAttribute("data-state"),
      problems,
    });
  }
} finally {
  await browser.close();
}
