// The workspace tools through the official MCP SDK clients, each scenario with the four
// clients of clients.mjs (2025-11-25 and 2026-07-28, over Streamable HTTP and over `berth mcp`):
// progress notifications, cancellation, the call budget and wait_for_workspace, chats that
// survive a reconnect, and a prebuild claim. The SDKs validate every structuredContent against
// the tool's outputSchema.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startServer, berthBinary } from "./harness.mjs";
import { clients, closeAllClients } from "./clients.mjs";

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
after(async () => {
  await closeAllClients();
  await server?.stop();
});

// Calls wait_for_workspace until the workspace is no longer in progress.
async function waitUntilDone(client) {
  let r;
  for (let i = 0; i < 10; i++) {
    r = await client.call({ name: "wait_for_workspace", arguments: {} });
    if (r.structuredContent.status !== "in_progress") break;
  }
  return r;
}

for (const mcp of clients) {
  test(`${mcp.name}: create reports progress, then the same workspace comes back`, async () => {
    const client = await mcp.connect(server);
    const progress = [];
    const created = await client.call(
      { name: "create_workspace", arguments: { template_id: ids.shell } },
      { onprogress: (p) => progress.push(p.message) });
    assert.ok(!created.isError, JSON.stringify(created));
    assert.equal(created.structuredContent.created, true);
    assert.match(created.structuredContent.workspace_name, /^admin\/shell-[0-9a-f]{4}$/);
    const joined = progress.join("\n");
    // The last notification ("ready") is sent right before the result. The SDK hands
    // notifications to their handler a microtask later, while it settles the call (and drops
    // its progress handler) at once: when both arrive in one read of stdout, "ready" is lost
    // on the client's side. The same holds for "running_startup_scripts" when the template's
    // startup script takes no time (it came with the result in 1 of ~20 loaded runs). The
    // result says ready; the phases before must all be there.
    for (const phase of ["queued", "building", "connecting_agent"]) {
      assert.ok(joined.includes(phase), `${phase} missing from progress:\n${joined}`);
    }
    assert.equal(created.structuredContent.status ?? "ready", "ready", JSON.stringify(created));
    const again = await client.call({ name: "create_workspace", arguments: { template_id: ids.shell } });
    assert.equal(again.structuredContent.created, false);
    assert.equal(again.structuredContent.status, "already_exists");
    const stopped = await client.call({ name: "stop_workspace", arguments: {} });
    assert.equal(stopped.structuredContent.stopped, true);
    const started = await client.call({ name: "start_workspace", arguments: {} });
    assert.equal(started.structuredContent.started, true);
    assert.ok(started.structuredContent.build_id);
    await client.close();
  });

  test(`${mcp.name}: a build failure is a tool error that keeps the build id`, async () => {
    const client = await mcp.connect(server);
    const r = await client.call({ name: "create_workspace", arguments: { template_id: ids.broken } });
    assert.equal(r.isError, true);
    assert.equal(r.structuredContent.error,
                 "workspace build failed: start script exited with status 1: fatal: no disk");
    assert.match(r.structuredContent.build_id, /^[0-9a-f-]{36}$/);
    await client.close();
  });

  test(`${mcp.name}: past the call budget the call answers in_progress; wait_for_workspace finishes`,
       async () => {
    const client = await mcp.connect(server);
    const r = await client.call({ name: "create_workspace", arguments: { template_id: ids.slow } });
    assert.equal(r.structuredContent.status, "in_progress");
    assert.equal(r.structuredContent.phase, "running_startup_scripts");
    assert.match(r.structuredContent.next_step, /wait_for_workspace/);
    const done = await waitUntilDone(client);
    assert.equal(done.structuredContent.status, "ready", JSON.stringify(done));
    await client.close();
  });

  test(`${mcp.name}: cancelling a call ends the wait, not the build`, async () => {
    const client = await mcp.connect(server);
    const controller = new AbortController();
    // Cancelled once the first progress shows the call was taken (a cancel that wins the race
    // with the request itself would leave nothing to wait for).
    const call = client.call(
      { name: "create_workspace", arguments: { template_id: ids.slowbuild } },
      { signal: controller.signal,
        onprogress: () => controller.abort("the user changed their mind") });
    await assert.rejects(call);
    const done = await waitUntilDone(client);
    assert.equal(done.structuredContent.status, "ready", JSON.stringify(done));
    await client.close();
  });

  test(`${mcp.name}: a chat key keeps the workspace across reconnects`, async () => {
    const key = `keep-${mcp.name.replace(/\W/g, "-")}`;
    const first = await mcp.connect(server, key);
    const a = await first.call({ name: "create_workspace", arguments: { template_id: ids.shell } });
    assert.equal(a.structuredContent.created, true);
    await first.close();
    const second = await mcp.connect(server, key);
    const b = await second.call({ name: "create_workspace", arguments: { template_id: ids.shell } });
    assert.equal(b.structuredContent.created, false);
    assert.equal(b.structuredContent.workspace_name, a.structuredContent.workspace_name);
    await second.close();
  });
}

for (const mcp of clients) {
  test(`${mcp.name}: every tool in one chat: templates, files, commands, background, stop`,
       async () => {
    const client = await mcp.connect(server);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(),
                     ["create_workspace", "edit_file", "execute", "expose_port", "list_templates",
                      "process_output", "process_signal", "read_file", "read_template",
                      "start_workspace", "stop_workspace", "wait_for_workspace", "write_file"]);
    const listed = await client.call({ name: "list_templates", arguments: {} });
    assert.ok(listed.structuredContent.templates.some((t) => t.id === ids.shell));
    const read = await client.call({ name: "read_template", arguments: { template_id: ids.shell } });
    assert.equal(read.structuredContent.template.name, "shell");
    const none = await client.call({ name: "execute", arguments: { command: "true" } });
    assert.equal(none.isError, true, "no workspace yet");
    assert.match(none.structuredContent.error, /create_workspace/);
    const created = await client.call({ name: "create_workspace",
                                        arguments: { template_id: ids.shell } });
    assert.equal(created.structuredContent.created, true, JSON.stringify(created));
    const waited = await client.call({ name: "wait_for_workspace", arguments: {} });
    assert.equal(waited.structuredContent.status, "ready", JSON.stringify(waited));
    const wrote = await client.call({ name: "write_file",
                                      arguments: { path: "notes/a.txt", content: "one\ntwo\n" } });
    assert.ok(!wrote.isError, JSON.stringify(wrote));
    const edited = await client.call({ name: "edit_file", arguments: {
      path: "notes/a.txt", old_text: "two", new_text: "three" } });
    assert.ok(!edited.isError, JSON.stringify(edited));
    const file = await client.call({ name: "read_file", arguments: { path: "notes/a.txt" } });
    assert.equal(file.structuredContent.content, "one\nthree\n");
    const ran = await client.call({ name: "execute", arguments: { command: "cat notes/a.txt | wc -l" } });
    assert.equal(ran.structuredContent.output.trim(), "2");
    const bg = await client.call({ name: "execute",
                                   arguments: { command: "echo started; sleep 30", background: true } });
    const pid = bg.structuredContent.process_id;
    assert.ok(pid, JSON.stringify(bg));
    let out;
    for (let i = 0; i < 50; i++) {
      out = await client.call({ name: "process_output", arguments: { process_id: pid } });
      if (out.structuredContent.output?.includes("started")) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(out.structuredContent.output, /started/);
    const killed = await client.call({ name: "process_signal",
                                       arguments: { process_id: pid, signal: "KILL" } });
    assert.ok(!killed.isError, JSON.stringify(killed));
    // A preview URL for a port nothing listens on yet: the URL, a private link, and a note.
    const exposed = await client.call({ name: "expose_port", arguments: { port: 8080 } });
    assert.ok(!exposed.isError, JSON.stringify(exposed));
    assert.match(exposed.structuredContent.url, /\/@admin\/shell-[0-9a-f]{4}\/ports\/8080\/$/);
    assert.match(exposed.structuredContent.link, /\?berth_preview_token=[0-9a-f]{48}$/);
    assert.equal(exposed.structuredContent.listening, false);
    assert.match(exposed.structuredContent.note, /nothing listens on port 8080 in the workspace/);
    const stopped = await client.call({ name: "stop_workspace", arguments: {} });
    assert.equal(stopped.structuredContent.stopped, true, JSON.stringify(stopped));
    await client.close();
  });
}

test("2025-11-25 stdio: a ping is not stuck behind a long call", async () => {
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

test("2026-07-28 http: a preset with prebuilds hands over a ready workspace (prebuild_claimed)",
     async () => {
  const warm = await server.api("POST", "/api/v1/templates", { files: { "template.yaml":
    "name: warm\npresets:\n  - {name: fast, prebuilds: 1}\nagents:\n  - name: main\n" } });
  let pool;
  for (let i = 0; i < 400 && pool?.ready !== 1; i++) {
    pool = (await server.api("GET", "/api/v1/templates/warm")).prebuilds[0];
    if (pool?.ready !== 1) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(pool?.ready, 1, JSON.stringify(pool));
  const client = await clients[2].connect(server);
  const tmpl = await client.call({ name: "read_template", arguments: { template_id: warm.id } });
  const preset = tmpl.structuredContent.presets[0];
  assert.equal(preset.desired_prebuild_instances, 1);
  const r = await client.call({ name: "create_workspace",
                                    arguments: { template_id: warm.id, preset_id: preset.id } });
  assert.ok(!r.isError, JSON.stringify(r));
  assert.equal(r.structuredContent.prebuild_claimed, true);
  assert.equal(r.structuredContent.created, true);
  assert.equal(r.structuredContent.status, undefined, "ready at once");
  const out = await client.call({ name: "execute",
                                      arguments: { command: "echo $BERTH_WORKSPACE_OWNER/$BERTH_WORKSPACE_NAME" } });
  assert.equal(out.structuredContent.output, r.structuredContent.workspace_name + "\n");
  await client.close();
});
