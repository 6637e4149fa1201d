// Preview URLs (expose_port) end to end: a web app started by the model in a sandboxed
// workspace, reached through the server and the workspace agent's connection. A page whose
// script fetches a file and talks to a WebSocket echo loads in headless Chromium through the
// private link; the proxy keeps the server's cookies from the app and the app's from the
// server's; unexposed ports, however spelled (Daytona #5147: "02280", "+2280"), never answer;
// the URL dies with its workspace. The subdomain form on a server with --preview-domain.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium } from "playwright-core";
import { startServer, connectHttp } from "./harness.mjs";

const executablePath = process.env.BERTH_CHROMIUM || "/usr/bin/chromium";
const app = readFileSync(new URL("./fixtures/preview_app.mjs", import.meta.url), "utf8");

let server;
let client;
let browser;
let workspace;  // "admin/<name>"

async function call(name, args = {}) {
  const r = await client.callTool({ name, arguments: args });
  return r;
}

// A raw request with any Host header (fetch will not send one of its own).
function raw(url, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers,
                                    body: Buffer.concat(chunks).toString() }));
    });
    req.on("upgrade", (res, socket, head) => {
      resolve({ status: res.statusCode, headers: res.headers, socket, head });
    });
    req.on("error", reject);
    req.end(body);
  });
}

// Starts the app (one process) on `ports` in the workspace and waits until the last listens.
async function startApp(...ports) {
  const r = await call("execute", { command: `exec node app.mjs ${ports.join(" ")}`, background: true });
  assert.ok(!r.isError, JSON.stringify(r.structuredContent));
  const port = ports.at(-1);
  for (let i = 0; i < 100; i++) {
    const probe = await call("execute", { command: `node -e "require('net').connect(${port}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))"` });
    if (probe.structuredContent.exit_code === 0) return;
    await sleep(100);
  }
  assert.fail(`the app did not listen on ${port}`);
}

before(async () => {
  assert.ok(existsSync(executablePath), `${executablePath} is missing: apt-get install chromium`);
  server = await startServer();
  const tpl = await server.api("POST", "/api/v1/templates", {
    files: { "template.yaml": "name: web\nisolation: sandbox\nagents:\n  - name: main\n" } });
  ({ client } = await connectHttp(server, "?chat=preview"));
  const created = await call("create_workspace", { template_id: tpl.id });
  assert.ok(!created.isError, JSON.stringify(created.structuredContent));
  workspace = created.structuredContent.workspace_name;
  const written = await call("write_file", { path: "app.mjs", content: app });
  assert.ok(!written.isError, JSON.stringify(written.structuredContent));
  await startApp(8080, 2280);  // 2280 listens but is never exposed
  browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  await client?.close();
  await server?.stop();
});

// The page, its own fetch and its WebSocket echo, in a fresh browser context at `url`.
async function loadPage(url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.goto(url);
  const landed = page.url();
  await page.locator("#echo", { hasText: "echo: hello over the tunnel" }).waitFor({ timeout: 10000 });
  await page.locator("#data", { hasText: "data: 42" }).waitFor({ timeout: 10000 });
  const origin = await page.evaluate(() => self.origin);
  await context.close();
  assert.deepEqual(problems, []);
  return { landed, origin };
}

test("expose_port gives a private URL and a link that opens in Chromium", async () => {
  const r = await call("expose_port", { port: 8080 });
  assert.ok(!r.isError, JSON.stringify(r.structuredContent));
  const { url, link, listening } = r.structuredContent;
  const [owner, name] = workspace.split("/");
  assert.equal(url, `${server.url}/@${owner}/${name}/ports/8080/`);
  assert.ok(link.startsWith(url + "?berth_preview_token="), link);
  assert.equal(listening, true);

  // Without the token: refused, saying how to get in.
  const anonymous = await fetch(url, { redirect: "manual" });
  assert.equal(anonymous.status, 401);
  assert.match(await anonymous.text(), /port 8080 of .* is private\nopen the link expose_port gave/);

  // The link trades its token for a cookie of this port's path and drops it from the URL. The
  // page runs sandboxed (an opaque origin): its script cannot use the dashboard's session.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(link);
  assert.equal(page.url(), url);
  await page.locator("#echo").waitFor();
  assert.equal(await page.evaluate(() => self.origin), "null");
  const [cookie] = await context.cookies();
  assert.equal(cookie.name, "berth_preview");
  assert.equal(cookie.path, `/@${owner}/${name}/ports/8080/`);
  assert.equal(cookie.httpOnly, true);
  await context.close();
});

test("a public port's page, its fetch and its WebSocket echo work in Chromium (path form)", async () => {
  const r = await call("expose_port", { port: 8080, public: true });
  const { landed, origin } = await loadPage(r.structuredContent.url);
  assert.equal(landed, r.structuredContent.url);
  assert.equal(origin, "null");
  await call("expose_port", { port: 8080 });  // private again
});

test("the app never sees the server's cookies or the token, and cannot set the server's cookies", async () => {
  const r = await call("expose_port", { port: 8080 });
  const token = new URL(r.structuredContent.link).searchParams.get("berth_preview_token");
  const url = r.structuredContent.url;
  const seen = await fetch(url + "headers?x=1&berth_preview_token=" + token, {
    headers: { "X-Berth-Preview-Token": token, Cookie: `berth_session=${server.token}; theirs=1` },
    redirect: "manual",
  });
  // A token in the query is always traded for a cookie first.
  assert.equal(seen.status, 303);
  const viaHeader = await fetch(url + "headers?x=1", {
    headers: { "X-Berth-Preview-Token": token, Cookie: `berth_session=${server.token}; theirs=1` },
  });
  assert.equal(viaHeader.status, 200);
  const got = await viaHeader.json();
  assert.equal(got.url, "/headers?x=1");
  assert.equal(got.headers.cookie, "theirs=1");
  assert.equal(got.headers["x-berth-preview-token"], undefined);
  assert.equal(got.headers.authorization, undefined);
  assert.match(got.headers["x-forwarded-prefix"], /^\/@admin\/.*\/ports\/8080$/);

  const tossed = await fetch(url + "tossing", { headers: { "X-Berth-Preview-Token": token } });
  assert.equal(tossed.status, 200);
  assert.deepEqual(tossed.headers.getSetCookie(), ["app_cookie=kept; Path=/"]);
  assert.match(tossed.headers.get("content-security-policy"), /^sandbox allow-scripts/);

  // Exposing again replaces the token: the old one no longer opens the port.
  const again = await call("expose_port", { port: 8080 });
  const stale = await fetch(url + "headers", { headers: { "X-Berth-Preview-Token": token } });
  assert.equal(stale.status, 401);
  const fresh = new URL(again.structuredContent.link).searchParams.get("berth_preview_token");
  assert.equal((await fetch(url, { headers: { "X-Berth-Preview-Token": fresh } })).status, 200);
});

test("only exposed ports answer, however the port is spelled (Daytona #5147)", async () => {
  await call("expose_port", { port: 8080, public: true });
  const [owner, name] = workspace.split("/");
  const base = `${server.url}/@${owner}/${name}/ports/`;
  assert.equal((await fetch(base + "8080/")).status, 200);
  const unexposed = await fetch(base + "2280/");
  assert.equal(unexposed.status, 404);
  assert.match(await unexposed.text(), /^no exposed port at this URL\nexpose the port first/);
  for (const spelling of ["02280", "+2280", "%32280", "2280.0", " 2280", "0x8f0", "08080", "+8080",
                          "65536", "0", "-1", "8080a"]) {
    const res = await fetch(base + spelling + "/");
    assert.equal(res.status, 404, spelling);
    const text = await res.text();
    assert.ok(/is not a port|no exposed port|no such preview/.test(text), `${spelling}: ${text}`);
  }
  // The tool refuses such ports too.
  for (const port of ["8080", 0, 65536, 80.5, -1]) {
    const r = await call("expose_port", { port });
    assert.equal(r.isError, true);
    assert.match(r.structuredContent.error, /^port must be a whole number from 1 to 65535/);
  }
  // A WebSocket and a large download through the public port.
  const big = await fetch(base + "8080/big?bytes=8388608");
  assert.equal((await big.arrayBuffer()).byteLength, 8388608);
  const upload = await fetch(base + "8080/upload", { method: "POST", body: "x".repeat(60000) });
  assert.deepEqual(await upload.json(), { received: 60000 });
  // Back to private.
  await call("expose_port", { port: 8080 });
  assert.equal((await fetch(base + "8080/")).status, 401);
});

test("the REST API lists and removes exposed ports", async () => {
  const list = await server.api("GET", `/api/v1/workspaces/${encodeURIComponent(workspace)}/ports`)
    .catch(() => null);
  const ws = (await server.api("GET", "/api/v1/workspaces"))
    .find((w) => `${w.owner_name}/${w.name}` === workspace);
  const ports = await server.api("GET", `/api/v1/workspaces/${ws.id}/ports`);
  assert.deepEqual(ports.ports.map((p) => [p.port, p.public]), [[8080, false]]);
  assert.equal(ports.ports[0].link, undefined, "the token is shown only when made");
  const made = await server.api("PUT", `/api/v1/workspaces/${ws.id}/ports/2280`, { public: true });
  assert.equal(made.public, true);
  const res = await fetch(`${server.url}/api/v1/workspaces/${ws.id}/ports/02280`, {
    method: "PUT", headers: { Authorization: `Bearer ${server.token}` } });
  assert.equal(res.status, 400);
  await server.api("DELETE", `/api/v1/workspaces/${ws.id}/ports/2280`);
  const [owner, name] = workspace.split("/");
  assert.equal((await fetch(`${server.url}/@${owner}/${name}/ports/2280/`)).status, 404);
  void list;
});

// The sum of a counter's samples whose labels include `label`, from the server's /metrics.
async function counter(name, label) {
  const text = await (await fetch(server.url + "/metrics", {
    headers: { Authorization: `Bearer ${server.token}` } })).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(name + "{") && line.includes(label)) sum += Number(line.split(" ").at(-1));
  }
  return sum;
}

test("the server dials the port in the sandbox's own network namespace, never the host's", async () => {
  // A listener on the host's loopback, on a port exposed in the workspace where nothing
  // listens: the preview must not reach it.
  const host = http.createServer((req, res) => res.end("the host's own service"));
  await new Promise((resolve) => host.listen(0, "127.0.0.1", resolve));
  const hostPort = host.address().port;
  try {
    const direct = await counter("berth_port_dials_total", 'path="direct"');
    const tunnel = await counter("berth_port_dials_total", 'path="tunnel"');
    await call("expose_port", { port: hostPort, public: true });
    const [owner, name] = workspace.split("/");
    const res = await fetch(`${server.url}/@${owner}/${name}/ports/${hostPort}/`);
    const body = await res.text();
    assert.equal(res.status, 502);
    assert.match(body, new RegExp(`nothing listens on port ${hostPort} in the workspace`));
    assert.doesNotMatch(body, /host's own service/);
    // A root server (CI) makes the connection itself, one hop shorter than the agent's tunnel.
    if (process.getuid() === 0) {
      assert.equal(await counter("berth_port_dials_total", 'path="direct"'), direct + 1);
      assert.equal(await counter("berth_port_dials_total", 'path="tunnel"'), tunnel);
    }
  } finally {
    host.close();
    const ws = (await server.api("GET", "/api/v1/workspaces"))
      .find((w) => `${w.owner_name}/${w.name}` === workspace);
    await server.api("DELETE", `/api/v1/workspaces/${ws.id}/ports/${hostPort}`);
  }
});

test("a name with capitals is found whatever the URL's case (hosts lose it)", async () => {
  const made = await server.api("POST", "/api/v1/workspaces", { template: "web", name: "Web-App" });
  await server.api("GET", `/api/v1/workspaces/${made.id}/wait?timeout=60s`);
  await server.api("PUT", `/api/v1/workspaces/${made.id}/ports/8080`, { public: true });
  for (const path of ["/@admin/web-app/ports/8080/", "/@ADMIN/Web-App/ports/8080/"]) {
    // Found: the proxy reached its agent, and nothing listens on 8080 in that workspace.
    const res = await fetch(`${server.url}${path}`);
    assert.equal(res.status, 502, path);
    assert.match(await res.text(), /nothing listens on port 8080/, path);
  }
  assert.equal((await fetch(`${server.url}/@admin/web-ap/ports/8080/`)).status, 404);
  await server.api("DELETE", `/api/v1/workspaces/${made.id}`);
});

test("the subdomain form, and the URL dies with its workspace", async () => {
  const other = await startServer(["--preview-domain", "preview.localhost"]);
  try {
    const tpl = await other.api("POST", "/api/v1/templates", {
      files: { "template.yaml": "name: web\nisolation: sandbox\nagents:\n  - name: main\n" } });
    const { client: c2 } = await connectHttp(other, "?chat=sub");
    try {
      const created = await c2.callTool({ name: "create_workspace", arguments: { template_id: tpl.id } });
      const [owner, name] = created.structuredContent.workspace_name.split("/");
      await c2.callTool({ name: "write_file", arguments: { path: "app.mjs", content: app } });
      await c2.callTool({ name: "execute", arguments: { command: "exec node app.mjs 3000", background: true } });
      let r;
      for (let i = 0; i < 50; i++) {
        r = await c2.callTool({ name: "expose_port", arguments: { port: 3000, public: true } });
        if (r.structuredContent.listening) break;
        await sleep(100);
      }
      const port = new URL(other.url).port;
      assert.equal(r.structuredContent.url, `http://3000--${name}--${owner}.preview.localhost:${port}/`);
      const host = `3000--${name}--${owner}.preview.localhost:${port}`;
      // Private, in Chromium: its own origin (*.localhost is loopback to the browser), so the
      // page's fetch and WebSocket carry the port's cookie.
      const priv = await c2.callTool({ name: "expose_port", arguments: { port: 3000 } });
      const { landed, origin } = await loadPage(priv.structuredContent.link);
      assert.equal(landed, `http://${host}/`);
      assert.equal(origin, `http://${host}`);
      await c2.callTool({ name: "expose_port", arguments: { port: 3000, public: true } });
      const got = await raw(`${other.url}/data.json`, { headers: { Host: host } });
      assert.equal(got.status, 200);
      assert.deepEqual(JSON.parse(got.body), { answer: 42, port: 3000 });
      assert.equal(got.headers["content-security-policy"], undefined, "its own origin: no sandbox");
      for (const bad of [`03000--${name}--${owner}`, `+3000--${name}--${owner}`, `2280--${name}--${owner}`]) {
        const res = await raw(`${other.url}/`, { headers: { Host: `${bad}.preview.localhost:${port}` } });
        assert.equal(res.status, 404, bad);
      }
      // A page on a preview host cannot call the server's API as a browser (Origin refused).
      const api = await raw(`${other.url}/api/v1/workspaces`, {
        headers: { Origin: `http://${host}`, Authorization: `Bearer ${other.token}` } });
      assert.equal(api.status, 403);

      const ws = (await other.api("GET", "/api/v1/workspaces"))[0];
      await other.api("DELETE", `/api/v1/workspaces/${ws.id}`);
      await other.api("GET", `/api/v1/workspaces/${ws.id}/wait?timeout=30s`);
      const gone = await raw(`${other.url}/`, { headers: { Host: host } });
      assert.equal(gone.status, 404);
      assert.match(gone.body, /^no exposed port at this URL/);
    } finally {
      await c2.close();
    }
  } finally {
    await other.stop();
  }
});
