// The dashboard's first load in headless Chromium: every byte the browser transfers from
// opening the Berth URL to the signed-in workspace list (the sign-in page, its script and
// style, the sign-in call, the list), with a cold cache. Target: under 200 KB.
//
//   BERTH_BINARY=build/berth node bench/dashboard_load.mjs
// Resolved from tests/e2e, where `npm ci` (scripts/install-deps.sh) installs it.
import { chromium } from "../tests/e2e/node_modules/playwright-core/index.mjs";
import { startServer } from "../tests/e2e/harness.mjs";

const server = await startServer();
const browser = await chromium.launch({
  executablePath: process.env.BERTH_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  await server.api("POST", "/api/v1/templates", {
    files: { "template.yaml": "name: shell\nisolation: sandbox\nagents:\n  - name: main\n" },
  });
  for (let i = 0; i < 50; i++) {
    await server.api("POST", "/api/v1/workspaces", { template: "shell", name: `ws-${i}` });
  }
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const sizes = new Map(); // requestId -> {url, bytes}
  cdp.on("Network.responseReceived", (e) => sizes.set(e.requestId, { url: e.response.url, bytes: 0 }));
  cdp.on("Network.loadingFinished", (e) => {
    const s = sizes.get(e.requestId);
    if (s) s.bytes = e.encodedDataLength; // on the wire: headers and body
  });
  const started = Date.now();
  await page.goto(server.url + "/");
  await page.getByLabel("API token").fill(server.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("ws-49").waitFor();
  const elapsed = Date.now() - started;
  await page.waitForTimeout(300); // let the last loadingFinished events arrive
  let total = 0;
  const rows = [];
  for (const { url, bytes } of sizes.values()) {
    total += bytes;
    rows.push(`${String(bytes).padStart(8)}  ${url.replace(server.url, "")}`);
  }
  console.log(rows.join("\n"));
  console.log(`total: ${total} bytes (${(total / 1024).toFixed(1)} KiB) in ${sizes.size} responses; ` +
              `signed in and listed 50 workspaces in ${elapsed} ms (target: under 200 KB)`);
} finally {
  await browser.close();
  await server.stop();
}
