// The web dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core;
// no downloaded browser): sign in, create a workspace and watch its build log stream to ready,
// stop and start it, see a failed build's error, revoke a token as an admin. Each step saves a
// screenshot (BERTH_SCREENSHOTS, else a temporary directory) and the page must stay free of
// errors and CSP violations.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer } from "./harness.mjs";

const executablePath = process.env.BERTH_CHROMIUM || "/usr/bin/chromium";
const shots = process.env.BERTH_SCREENSHOTS || join(tmpdir(), "berth-screenshots");
mkdirSync(shots, { recursive: true });

let server;
let browser;

const shell = `name: shell
display_name: Shell
description: A shell in a sandbox
isolation: sandbox
agents:
  - name: main
    startup_script: |
      echo setting up
      sleep 1
      echo all set
scripts:
  start: |
    echo preparing the workspace
    sleep 1
    echo prepared
`;
const broken = `name: broken
isolation: sandbox
agents:
  - name: main
scripts:
  start: |
    echo about to fail
    echo "missing dependency: libfoo" >&2
    exit 3
`;

before(async () => {
  assert.ok(existsSync(executablePath), `${executablePath} is missing: apt-get install chromium`);
  server = await startServer();
  await server.api("POST", "/api/v1/templates", { files: { "template.yaml": shell } });
  await server.api("POST", "/api/v1/templates", { files: { "template.yaml": broken } });
  browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// A page signed in as `token`, collecting console errors (CSP violations are among them).
async function signedIn(t, token, shot) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    // The first look at /api/v1/sessions/current answers 401 before signing in.
    if (m.type() === "error" && !/status of 401/.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.goto(server.url + "/");
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Workspaces" }).waitFor();
  if (shot) await page.screenshot({ path: join(shots, shot), fullPage: true });
  t.after(() => context.close());
  return { page, context, problems };
}

test("sign in exchanges the token for an HttpOnly session cookie", async (t) => {
  const { page, context, problems } = await signedIn(t, server.token, "01-signed-in.png");
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "berth_session");
  assert.ok(session, "no session cookie");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Strict");
  assert.notEqual(session.value, server.token, "the session is a token of its own");
  // The page's script cannot read it.
  assert.equal(await page.evaluate(() => document.cookie), "");
  await page.getByRole("link", { name: "Templates" }).click();
  await page.getByRole("link", { name: "Shell" }).waitFor();
  // A wrong token is refused with the server's message.
  const other = await browser.newPage();
  await other.goto(server.url + "/#/signin");
  await other.getByLabel("API token").fill("berth_nope");
  await other.getByRole("button", { name: "Sign in" }).click();
  await other.getByRole("alert").filter({ hasText: "missing or invalid API token" }).waitFor();
  await other.screenshot({ path: join(shots, "02-wrong-token.png") });
  await other.close();
  assert.deepEqual(problems, []);
});

test("create a workspace and watch its build log stream to ready; stop and start it", async (t) => {
  const { page, problems } = await signedIn(t, server.token);
  await page.getByLabel("Template", { exact: true }).selectOption("shell");
  await page.getByLabel("Name", { exact: true }).fill("web");
  await page.getByRole("button", { name: "Create workspace" }).click();
  await page.getByRole("heading", { name: "admin/web" }).waitFor();
  const log = page.locator("#build-log");
  // Lines arrive while the build runs, then the end line.
  await log.getByText("preparing the workspace").waitFor({ timeout: 20000 });
  await log.getByText("build succeeded").waitFor({ timeout: 30000 });
  await page.locator("#ws-status-value").getByText("running").waitFor({ timeout: 30000 });
  await page.getByText("ready", { exact: true }).first().waitFor({ timeout: 30000 });
  await page.getByRole("heading", { name: /ready in/ }).waitFor({ timeout: 30000 });
  const phases = await page.getByRole("list", { name: "Build phases" }).innerText();
  for (const phase of ["Queued", "Build", "main: connected", "main: startup script"]) {
    assert.match(phases, new RegExp(phase));
  }
  // The agent's startup log streams into its own box, then says how the start ended.
  const agentLog = page.locator("#agent-log-main");
  await agentLog.getByText("setting up").waitFor({ timeout: 20000 });
  await agentLog.getByText("all set").waitFor({ timeout: 20000 });
  await agentLog.getByText("agent ready").waitFor({ timeout: 20000 });
  await page.screenshot({ path: join(shots, "03-workspace-ready.png"), fullPage: true });

  await page.getByRole("button", { name: "Stop" }).click();
  await page.locator("#ws-status-value").getByText("stopped").waitFor({ timeout: 30000 });
  await page.screenshot({ path: join(shots, "04-stopped.png"), fullPage: true });
  await page.getByRole("button", { name: "Start" }).click();
  await page.locator("#ws-status-value").getByText("running").waitFor({ timeout: 30000 });
  await page.getByRole("heading", { name: /Build 3 \(start\)/ }).waitFor({ timeout: 30000 });
  await page.screenshot({ path: join(shots, "05-started-again.png"), fullPage: true });
  const w = await server.api("GET", "/api/v1/workspaces/web");
  assert.equal(w.latest_build.build_number, 3);
  assert.equal(w.status, "running");
  assert.deepEqual(problems, []);
});

test("a failed build shows its error", async (t) => {
  const { page, problems } = await signedIn(t, server.token);
  await page.getByLabel("Template", { exact: true }).selectOption("broken");
  await page.getByLabel("Name", { exact: true }).fill("bad");
  await page.getByRole("button", { name: "Create workspace" }).click();
  await page.locator("#ws-status-value").getByText("failed").waitFor({ timeout: 30000 });
  await page.locator("#build-error")
    .getByText("start script exited with status 3: missing dependency: libfoo").waitFor();
  // The script's own lines streamed, then the end line with the job's error.
  const log = page.locator("#build-log");
  await log.getByText("build failed: start script exited with status 3").waitFor({ timeout: 30000 });
  const text = await log.innerText();
  assert.match(text, /\[start\] about to fail\n.*\[start\] missing dependency: libfoo/s);
  await page.screenshot({ path: join(shots, "06-failed-build.png"), fullPage: true });
  assert.deepEqual(problems, []);
});

test("an admin revokes a token and its holder is signed out", async (t) => {
  const bob = await server.api("POST", "/api/v1/users", { username: "bob", email: "b@example.com" });
  const issued = await server.api("POST", "/api/v1/tokens", { username: "bob", name: "bob-laptop" });
  const bobPage = await signedIn(t, issued.token);
  const admin = await signedIn(t, server.token);
  await admin.page.getByRole("link", { name: "Tokens" }).click();
  await admin.page.getByLabel("Tokens of user").fill("bob");
  await admin.page.getByRole("button", { name: "Show" }).click();
  // Bob's API token and his dashboard session are both listed.
  const row = admin.page.getByRole("row").filter({ hasText: "bob-laptop" });
  await row.waitFor();
  await admin.page.screenshot({ path: join(shots, "07-tokens.png"), fullPage: true });
  const sessions = await server.api("GET", "/api/v1/tokens?user=bob");
  const session = sessions.find((x) => x.name === "dashboard session");
  assert.ok(session, "bob's session is a token of his");
  await admin.page.getByRole("button", { name: `Revoke token dashboard session (${session.id})` })
    .click();
  await admin.page.getByRole("status").getByText("Token revoked").waitFor();
  await admin.page.screenshot({ path: join(shots, "08-token-revoked.png"), fullPage: true });
  // Bob's next request is refused and the page returns to sign-in.
  await bobPage.page.getByRole("link", { name: "Chats" }).click();
  await bobPage.page.getByLabel("API token").waitFor({ timeout: 10000 });
  await bobPage.page.screenshot({ path: join(shots, "09-signed-out.png") });
  const left = await server.api("GET", "/api/v1/tokens?user=bob");
  assert.ok(!left.some((x) => x.id === session.id));
  assert.ok(bob.id);
  assert.deepEqual(admin.problems, []);
});

test("changes without the CSRF token are refused, and the page sends it", async (t) => {
  const { page } = await signedIn(t, server.token);
  const status = await page.evaluate(async () => {
    const r = await fetch("/api/v1/organizations", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "forged" }),
    });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(status.status, 403);
  assert.equal(status.body.message, "missing or wrong X-CSRF-Token");
});

test("keyboard only: sign in and create a workspace without a mouse", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url + "/");
  await page.getByLabel("API token").waitFor();
  // The token field has the focus; Enter submits.
  await page.keyboard.type(server.token);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Workspaces" }).waitFor();
  // The view takes the focus; Tab walks into the form.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "new-template");
  await page.keyboard.press("Tab");
  await page.keyboard.type("kbd");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "admin/kbd" }).waitFor();
  await page.screenshot({ path: join(shots, "10-keyboard-created.png") });
  await context.close();
});

test("every page passes axe-core's accessibility rules (serious and critical)", async () => {
  // axe is injected as a script, which the page's CSP would refuse: this context ignores CSP.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await page.goto(server.url + "/");
  const axe = join(import.meta.dirname, "node_modules/axe-core/axe.min.js");
  const audit = async (name) => {
    await page.addScriptTag({ path: axe });
    const result = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ["violations"] });
      return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
    });
    assert.deepEqual(result, [], `${name}: accessibility violations`);
  };
  await page.getByLabel("API token").waitFor();
  await audit("sign in");
  await page.getByLabel("API token").fill(server.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Workspaces" }).waitFor();
  await page.getByRole("table").waitFor();
  await audit("workspaces");
  for (const [hash, heading] of [["#/workspaces/web", "admin/web"], ["#/templates", "Templates"],
                                 ["#/templates/shell", "Shell"], ["#/chats", "Chats"],
                                 ["#/tokens", "Tokens"], ["#/admin", "Admin"]]) {
    await page.goto(server.url + "/" + hash);
    await page.getByRole("heading", { name: heading, exact: true }).waitFor();
    await audit(hash);
  }
  await context.close();
});

test("an admin suspends and unsuspends a user from the admin page", async (t) => {
  await server.api("POST", "/api/v1/users", { username: "carol", email: "c@example.com" });
  const { page, problems } = await signedIn(t, server.token);
  await page.getByRole("link", { name: "Admin", exact: true }).click();
  const row = page.getByRole("table", { name: "Every user" }).getByRole("row")
    .filter({ hasText: "carol" });
  await row.getByText("active").waitFor();
  await page.getByRole("button", { name: "Suspend carol" }).click();
  await row.getByText("suspended").waitFor();
  await page.screenshot({ path: join(shots, "11-user-suspended.png"), fullPage: true });
  const users = await server.api("GET", "/api/v1/users");
  assert.equal(users.find((u) => u.username === "carol").suspended, true);
  await page.getByRole("button", { name: "Unsuspend carol" }).click();
  await row.getByText("active").waitFor();
  assert.deepEqual(problems, []);
});

test("a chat page shows its binding live and binds a workspace", async (t) => {
  const chat = await server.api("POST", "/api/v1/chats", { key: "screen" });
  const { page, problems } = await signedIn(t, server.token);
  await page.goto(server.url + `/#/chats/${chat.id}`);
  await page.locator("#chat-workspace").getByText("none yet").waitFor();
  await page.getByLabel("Workspace", { exact: true }).fill("web");
  await page.getByRole("button", { name: "Bind to this chat" }).click();
  // The watch stream brings the new binding and the bound build's log.
  await page.locator("#chat-workspace").getByRole("link", { name: "admin/web" }).waitFor();
  await page.locator("#chat-log").getByText("build succeeded").or(
    page.locator("#chat-log").getByText("[agents]")).first().waitFor({ timeout: 20000 });
  await page.screenshot({ path: join(shots, "12-chat-bound.png"), fullPage: true });
  assert.deepEqual(problems, []);
});

test("a template's versions, and an organization's members managed from the admin page",
     async (t) => {
  await server.api("POST", "/api/v1/templates",
                   { files: { "template.yaml": shell.replace("A shell in a sandbox", "A shell, v2") } });
  await server.api("POST", "/api/v1/users", { username: "dave" });
  const { page, problems } = await signedIn(t, server.token);
  await page.goto(server.url + "/#/templates/shell");
  const versions = page.getByRole("table", { name: "Every version pushed, newest first" });
  await versions.getByRole("row").nth(1).getByText("active").waitFor();
  await page.getByText("template.yaml of version 1").click();
  await page.locator("#version-1-source").getByText("A shell in a sandbox").waitFor();
  await page.screenshot({ path: join(shots, "13-template-versions.png"), fullPage: true });

  await page.getByRole("link", { name: "Admin", exact: true }).click();
  const members = page.getByRole("table", { name: "Members of default" });
  await members.getByRole("row").filter({ hasText: "admin" }).first().waitFor();
  await page.getByRole("button", { name: "Remove dave from default" }).waitFor();
  await page.getByLabel("Role of dave").selectOption("admin");
  await page.getByRole("status").getByText("dave is now admin").waitFor();
  const listed = await server.api("GET", "/api/v1/organizations/default/members");
  assert.equal(listed.find((m) => m.username === "dave").role, "admin");
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Remove dave from default" }).click();
  await page.getByRole("status").getByText("dave removed").waitFor();
  await page.getByRole("button", { name: "Remove dave from default" }).waitFor({ state: "detached" });
  await page.screenshot({ path: join(shots, "14-members.png"), fullPage: true });
  assert.deepEqual(problems, []);
});
