// The workspace tools through the official MCP SDK client, over Streamable HTTP and over
// `berth mcp` (stdio): progress notifications, cancellation, the call budget and
// wait_for_workspace, chats that survive a reconnect, and a prebuild claim. The SDK
// validates every structuredContent against the tool's outputSchema.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startServer, connectHttp, berthBinary } from "./harness.mjs";

let server;
const ids = {};
before(async () => {
  server = await startServer(["--tool-wait-budget", "2s"]);
  const push = async (yaml) =>
    (await server.api("POST", "/api/v1/templates", { files: { "template.yaml": yaml } })).id;
  ids.shell = await push("name: shell\nagents:\n  - name: main\n");
  ids.slow = await push(
    "name: slow\nagents:\n  - name: main\n    startup_script: sleep 3\n");
  ids.slowbuild = await push("name: slowbuild\nagents:\n  - name: main\nscripts:\n  start: sleep 2\n");
  ids.broken = await push(
    "name: broken\nagents:\n  - name: main\nscripts:\n  start: |\n    echo 'fatal: no disk' >&2\n    exit 1\n");
});
after(async () => { await server?.stop(); });

// Calls wait_for_workspace until the workspace is no longer in progress.
async function waitUntilDone(client) {
  let r;
  for (let i = 0; i < 10; i++) {
    r = await client.callTool({ name: "wait_for_workspace", arguments: {} });
    if (r.structuredContent.status !== "in_progress") break;
  }
  return r;
}

test("http: create reports progress, then the same workspace comes back", async () => {
  const { client } = await connectHttp(server);
  const progress = [];
  const created = await client.callTool(
    { name: "create_workspace", arguments: { template_id: ids.shell } }, undefined,
    { onprogress: (p) => progress.push(p.message) });
  assert.ok(!created.isError, JSON.stringify(created));
  assert.equal(created.structuredContent.created, true);
  assert.match(created.structuredContent.workspace_name, /^admin\/shell-[0-9a-f]{4}$/);
  const joined = progress.join("\n");
  for (const phase of ["queued", "building", "connecting_agent", "running_startup_scripts", "ready"]) {
    assert.ok(joined.includes(phase), `${phase} missing from progress:\n${joined}`);
  }
  const again = await client.callTool({ name: "create_workspace", arguments: { template_id: ids.shell } });
  assert.equal(again.structuredContent.created, false);
  assert.equal(again.structuredContent.status, "already_exists");
  const stopped = await client.callTool({ name: "stop_workspace", arguments: {} });
  assert.equal(stopped.structuredContent.stopped, true);
  const started = await client.callTool({ name: "start_workspace", arguments: {} });
  assert.equal(started.structuredContent.started, true);
  assert.ok(started.structuredContent.build_id);
  await client.close();
});

test("http: a build failure is a tool error that keeps the build id", async () => {
  const { client } = await connectHttp(server);
  const r = await client.callTool({ name: "create_workspace", arguments: { template_id: ids.broken } });
  assert.equal(r.isError, true);
  assert.equal(r.structuredContent.error,
               "workspace build failed: start script exited with status 1: fatal: no disk");
  assert.match(r.structuredContent.build_id, /^[0-9a-f-]{36}$/);
  await client.close();
});

test("http: past the call budget the call answers in_progress; wait_for_workspace finishes", async () => {
  const { client } = await connectHttp(server);
  const r = await client.callTool({ name: "create_workspace", arguments: { template_id: ids.slow } });
  assert.equal(r.structuredContent.status, "in_progress");
  assert.equal(r.structuredContent.phase, "running_startup_scripts");
  assert.match(r.structuredContent.next_step, /wait_for_workspace/);
  const done = await waitUntilDone(client);
  assert.equal(done.structuredContent.status, "ready", JSON.stringify(done));
  await client.close();
});

test("http: cancelling a call ends the wait, not the build", async () => {
  const { client } = await connectHttp(server);
  const controller = new AbortController();
  const call = client.callTool(
    { name: "create_workspace", arguments: { template_id: ids.slowbuild } }, undefined,
    { signal: controller.signal, onprogress: () => {} });
  setTimeout(() => controller.abort("the user changed their mind"), 300);
  await assert.rejects(call);
  const done = await waitUntilDone(client);
  assert.equal(done.structuredContent.status, "ready", JSON.stringify(done));
  await client.close();
});

test("http: a chat key keeps the workspace across reconnects", async () => {
  const first = await connectHttp(server, "?chat=e2e-key");
  const a = await first.client.callTool({ name: "create_workspace", arguments: { template_id: ids.shell } });
  assert.equal(a.structuredContent.created, true);
  await first.client.close();
  const second = await connectHttp(server, "?chat=e2e-key");
  const b = await second.client.callTool({ name: "create_workspace", arguments: { template_id: ids.shell } });
  assert.equal(b.structuredContent.created, false);
  assert.equal(b.structuredContent.workspace_name, a.structuredContent.workspace_name);
  await second.client.close();
});

test("stdio: progress is relayed and a ping is not stuck behind a long call", async () => {
  const transport = new StdioClientTransport({
    command: berthBinary,
    args: ["mcp", "--url", server.url, "--token", server.token, "--chat", "stdio-key"],
    stderr: "pipe",
  });
  const client = new Client({ name: "berth-e2e-stdio", version: "0.0.1" });
  await client.connect(transport);
  const progress = [];
  const call = client.callTool(
    { name: "create_workspace", arguments: { template_id: ids.slowbuild } }, undefined,
    { onprogress: (p) => progress.push(p.message) });
  const pingStarted = Date.now();
  await client.ping();
  assert.ok(Date.now() - pingStarted < 1000, "ping waited for the tool call");
  const r = await call;
  assert.ok(!r.isError, JSON.stringify(r));
  assert.equal(r.structuredContent.created, true);
  assert.ok(progress.some((m) => m.startsWith("building")), progress.join("\n"));
  await client.close();
});

test("http: a preset with prebuilds hands over a ready workspace (prebuild_claimed)", async () => {
  const warm = await server.api("POST", "/api/v1/templates", { files: { "template.yaml":
    "name: warm\npresets:\n  - {name: fast, prebuilds: 1}\nagents:\n  - name: main\n" } });
  let pool;
  for (let i = 0; i < 400 && pool?.ready !== 1; i++) {
    pool = (await server.api("GET", "/api/v1/templates/warm")).prebuilds[0];
    if (pool?.ready !== 1) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(pool?.ready, 1, JSON.stringify(pool));
  const { client } = await connectHttp(server);
  const tmpl = await client.callTool({ name: "read_template", arguments: { template_id: warm.id } });
  const preset = tmpl.structuredContent.presets[0];
  assert.equal(preset.desired_prebuild_instances, 1);
  const r = await client.callTool({ name: "create_workspace",
                                    arguments: { template_id: warm.id, preset_id: preset.id } });
  assert.ok(!r.isError, JSON.stringify(r));
  assert.equal(r.structuredContent.prebuild_claimed, true);
  assert.equal(r.structuredContent.created, true);
  assert.equal(r.structuredContent.status, undefined, "ready at once");
  const out = await client.callTool({ name: "execute",
                                      arguments: { command: "echo $BERTH_WORKSPACE_OWNER/$BERTH_WORKSPACE_NAME" } });
  assert.equal(out.structuredContent.output, r.structuredContent.workspace_name + "\n");
  await client.close();
});
