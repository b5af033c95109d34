// What the browser drivers share: Debian's headless Chromium through playwright-core, and the
// log of what went wrong on a page (console errors and warnings, CSP violations, uncaught
// exceptions, failed requests), which the tests require to be empty.
import { chromium } from "playwright-core";

/** Chromium with no first-run work and no background traffic of its own. */
export function launch(config, timeout) {
  return chromium.launch({
    executablePath: config.chromium,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout,
  });
}

/** Record into `problems` whatever `page` reports as going wrong, prefixed by `name`. */
export function watchProblems(page, name, problems) {
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      problems.push(`${name} console ${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`${name} page error: ${error.message}`));
  page.on("requestfailed", (request) =>
    problems.push(`${name} request failed: ${request.url()} ${request.failure()?.errorText}`),
  );
}

/** Abort every request of `context` to anything but `origin` (other hosts, other ports), and
 * record its URL in `blocked`: a page that needs the internet shows up there. */
export async function onlyOrigin(context, origin, blocked) {
  await context.route(
    (url) => url.origin !== origin && (url.protocol === "http:" || url.protocol === "https:"),
    (route) => {
      blocked.push(route.request().url());
      return route.abort("blockedbyclient");
    },
  );
}
