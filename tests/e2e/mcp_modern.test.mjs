// MCP 2026-07-28 (stateless) over Streamable HTTP and over stdio (`berth mcp`), with the
// official v2 TypeScript SDK client pinned to that revision: server/discover, per-request _meta, resultType, tools/list caching
// hints, a chat named by the URL instead of a session; and the wire rules checked by hand
// (header mismatch -32020, unsupported version -32022, unknown method 404, no GET stream).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { startServer, berthBinary, postModern, kModern } from "./harness.mjs";

let server;
let slowbuild;

before(async () => {
  // Keep-alive comments on quiet streams every 200 ms, so a test sees them.
  server = await startServer(["--sse-keepalive", "200ms"]);
  await server.api("POST", "/api/v1/templates", {
    files: { "template.yaml": "name: shell\ndescription: A plain shell\nagents:\n  - name: main\n",
             "README.md": "# shell" },
  });
  slowbuild = (await server.api("POST", "/api/v1/templates", { files: {
    "template.yaml": "name: slowbuild\nagents:\n  - name: main\nscripts:\n  start: sleep 2\n" } })).id;
});
// Every client made here, closed at the end even when a test failed before closing its own
// (a `berth mcp` child left open keeps the test process alive).
const opened = [];
after(async () => {
  await Promise.allSettled(opened.map((c) => c.close()));
  await server?.stop();
});

async function connectModern(query = "") {
  const transport = new StreamableHTTPClientTransport(new URL(server.url + "/mcp" + query), {
    requestInit: { headers: { Authorization: `Bearer ${server.token}` } },
  });
  const client = new Client({ name: "berth-e2e-v2", version: "0.0.1" },
                            { versionNegotiation: { mode: { pin: kModern } } });
  await client.connect(transport);
  opened.push(client);
  return client;
}

// One raw 2026-07-28 POST: the headers a client sends, with `override` on top.
const post = (body, override = {}) => postModern(server, body, override);

const envelope = (version = kModern) => ({
  "io.modelcontextprotocol/protocolVersion": version,
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
});

test("a pinned v2 client discovers 2026-07-28 and lists tools with caching hints", async () => {
  const client = await connectModern();
  assert.equal(client.getNegotiatedProtocolVersion(), kModern);
  const { tools } = await client.listTools();
  assert.ok(tools.some((t) => t.name === "create_workspace"));
  const raw = await post({ jsonrpc: "2.0", id: 1, method: "tools/list",
                           params: { _meta: envelope() } });
  assert.equal(raw.status, 200);
  assert.equal(raw.body.result.resultType, "complete");
  assert.equal(raw.body.result.cacheScope, "private");
  assert.ok(raw.body.result.ttlMs > 0);
  assert.equal(raw.body.result._meta["io.modelcontextprotocol/serverInfo"].name, "berth");
  assert.equal(raw.headers.get("mcp-session-id"), null, "2026-07-28 has no sessions");
  assert.deepEqual(raw.body.result.tools.map((t) => t.name), tools.map((t) => t.name),
                   "one order, every time");
  await client.close();
});

test("tools work without a session, and the chat in the URL keeps one workspace", async () => {
  // Every call is answered as a stream when the client takes one (closing it cancels).
  const streamed = await post({ jsonrpc: "2.0", id: 21, method: "tools/call",
                                params: { name: "list_templates", arguments: {}, _meta: envelope() } });
  assert.equal(streamed.headers.get("content-type"), "text/event-stream");
  assert.equal(streamed.body.result.resultType, "complete");
  const a = await connectModern("?chat=modern-1");
  const list = await a.callTool({ name: "list_templates", arguments: {} });
  const id = list.structuredContent.templates[0].id;
  const created = await a.callTool({ name: "create_workspace", arguments: { template_id: id } });
  assert.ok(!created.isError, JSON.stringify(created));
  assert.equal(created.structuredContent.created, true);
  const ran = await a.callTool({ name: "execute", arguments: { command: "echo stateless" } });
  assert.equal(ran.structuredContent.output.trim(), "stateless");
  await a.close();
  // Another client, same chat key: the same workspace, no new one.
  const b = await connectModern("?chat=modern-1");
  const again = await b.callTool({ name: "create_workspace", arguments: { template_id: id } });
  assert.equal(again.structuredContent.workspace_name, created.structuredContent.workspace_name);
  assert.equal(again.structuredContent.created, false);
  await b.close();
});

test("headers that disagree with the body are refused with -32020", async () => {
  const call = { jsonrpc: "2.0", id: 2, method: "tools/call",
                 params: { name: "list_templates", arguments: {}, _meta: envelope() } };
  for (const [header, value] of [["Mcp-Method", "tools/list"], ["Mcp-Name", "execute"],
                                 ["MCP-Protocol-Version", "2025-11-25"]]) {
    const r = await post(call, { [header]: value });
    assert.equal(r.status, 400, header);
    assert.equal(r.body.error.code, -32020, header);
    assert.match(r.body.error.message, new RegExp(`${header} header is "${value}"`));
  }
  // The name may be sent base64-encoded.
  const b64 = `=?base64?${Buffer.from("list_templates").toString("base64")}?=`;
  const ok = await post(call, { "Mcp-Name": b64 });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.result.resultType, "complete");
});

test("an unsupported version gets -32022 naming the supported ones", async () => {
  const r = await post({ jsonrpc: "2.0", id: 3, method: "tools/list",
                         params: { _meta: envelope("2099-01-01") } },
                       { "MCP-Protocol-Version": "2099-01-01" });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, -32022);
  assert.equal(r.body.error.data.requested, "2099-01-01");
  assert.ok(r.body.error.data.supported.includes(kModern));
  assert.ok(r.body.error.data.supported.includes("2025-11-25"));
});

test("unknown methods are 404, GET and DELETE are 405, and the server still answers", async () => {
  const r = await post({ jsonrpc: "2.0", id: 4, method: "ping", params: { _meta: envelope() } });
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, -32601);
  for (const method of ["GET", "DELETE"]) {
    const res = await fetch(server.url + "/mcp", {
      method, headers: { Authorization: `Bearer ${server.token}`, "MCP-Protocol-Version": kModern,
                         Accept: "text/event-stream" },
    });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get("allow"), "POST");
  }
  const d = await post({ jsonrpc: "2.0", id: 5, method: "server/discover",
                         params: { _meta: envelope() } });
  assert.equal(d.status, 200);
  assert.deepEqual(d.body.result.supportedVersions[0], kModern);
});

test("stdio: `berth mcp` relays 2026-07-28 with its headers, and a chat keeps its workspace",
     async () => {
  const connect = async () => {
    const client = new Client({ name: "berth-e2e-v2-stdio", version: "0.0.1" },
                              { versionNegotiation: { mode: { pin: kModern } } });
    await client.connect(new StdioClientTransport({
      command: berthBinary,
      args: ["mcp", "--url", server.url, "--token", server.token, "--chat", "modern-stdio"],
      stderr: "pipe",
    }));
    opened.push(client);
    return client;
  };
  const client = await connect();
  assert.equal(client.getNegotiatedProtocolVersion(), kModern);
  const { tools } = await client.listTools();
  assert.ok(tools.some((t) => t.name === "execute"));
  const list = await client.callTool({ name: "list_templates", arguments: {} });
  const id = list.structuredContent.templates[0].id;
  // Two calls at once: each 2026-07-28 request runs on its own.
  const [created, read] = await Promise.all([
    client.callTool({ name: "create_workspace", arguments: { template_id: id } }),
    client.callTool({ name: "read_template", arguments: { template_id: id } }),
  ]);
  assert.equal(created.structuredContent.created, true, JSON.stringify(created));
  assert.equal(read.structuredContent.template.name, "shell");
  await client.close();
  const again = await connect();
  const same = await again.callTool({ name: "create_workspace", arguments: { template_id: id } });
  assert.equal(same.structuredContent.workspace_name, created.structuredContent.workspace_name);
  await again.close();
});

// Calls wait_for_workspace until the workspace is no longer in progress.
async function waitUntilDone(client) {
  let r;
  for (let i = 0; i < 10; i++) {
    r = await client.callTool({ name: "wait_for_workspace", arguments: {} });
    if (r.structuredContent.status !== "in_progress") break;
  }
  return r;
}

async function cancelledCalls() {
  const res = await fetch(server.url + "/metrics", { headers: { Authorization: `Bearer ${server.token}` } });
  const m = (await res.text()).match(
    /berth_tool_calls_total\{tool="create_workspace",outcome="cancelled"\} (\d+)/);
  return m ? Number(m[1]) : 0;
}

test("progress streams over SSE, and closing the stream cancels the wait, not the build",
     async () => {
  const client = await connectModern("?chat=modern-cancel");
  const before = await cancelledCalls();
  const controller = new AbortController();
  const progress = [];
  const call = client.callTool({ name: "create_workspace", arguments: { template_id: slowbuild } },
                               { signal: controller.signal,
                                 onprogress: (p) => { progress.push(p.message); controller.abort(); } });
  await assert.rejects(call);
  assert.ok(progress.length >= 1, "a progress notification arrived before the abort");
  for (let i = 0; i < 50 && (await cancelledCalls()) === before; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(await cancelledCalls(), before + 1, "the server ended the call's wait");
  // The build went on: waiting finds the workspace ready.
  const done = await waitUntilDone(client);
  assert.equal(done.structuredContent.status, "ready", JSON.stringify(done));
  await client.close();
});

test("a quiet streamed call gets keep-alive comments", async () => {
  const res = await fetch(server.url + "/mcp?chat=modern-quiet", {
    method: "POST",
    headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json",
               Accept: "application/json, text/event-stream", "MCP-Protocol-Version": kModern,
               "Mcp-Method": "tools/call", "Mcp-Name": "create_workspace" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 11, method: "tools/call", params: {
      name: "create_workspace", arguments: { template_id: slowbuild },
      _meta: { ...envelope(), progressToken: "quiet" } } }),
  });
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const text = await res.text();  // the whole stream, to the result
  assert.match(text, /^: keep-alive$/m, "the 2 s build is quiet for longer than 200 ms");
  const events = text.split("\n\n").filter((f) => f.includes("data: "))
    .map((f) => JSON.parse(f.slice(f.indexOf("data: ") + 6)));
  const result = events.find((e) => e.id === 11);
  assert.equal(result.result.resultType, "complete", text);
  assert.equal(result.result.structuredContent.created, true, text);
});

test("stdio: notifications/cancelled closes the call's connection, which cancels its wait",
     async () => {
  const client = new Client({ name: "berth-e2e-v2-stdio", version: "0.0.1" },
                            { versionNegotiation: { mode: { pin: kModern } } });
  const transport = new StdioClientTransport({
    command: berthBinary,
    args: ["mcp", "--url", server.url, "--token", server.token, "--chat", "modern-stdio-cancel"],
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d) => { stderr += d; });
  await client.connect(transport);
  opened.push(client);
  const before = await cancelledCalls();
  const controller = new AbortController();
  // Cancelled once the first progress shows the call was taken.
  const call = client.callTool({ name: "create_workspace", arguments: { template_id: slowbuild } },
                               { signal: controller.signal,
                                 onprogress: () => controller.abort("changed my mind") });
  await assert.rejects(call);
  for (let i = 0; i < 50 && (await cancelledCalls()) === before; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(await cancelledCalls(), before + 1, `the server ended the call's wait\n${stderr}`);
  // The bridge still serves, and the build went on.
  const done = await waitUntilDone(client);
  assert.equal(done.structuredContent.status, "ready", JSON.stringify(done));
  await client.close();
});

test("a stateless chat key never reaches another user's chat, and read-only tokens stay read-only",
     async () => {
  await server.api("POST", "/api/v1/users", { username: "mallory" });
  const mallory = (await server.api("POST", "/api/v1/tokens", { username: "mallory" })).token;
  const readOnly = (await server.api("POST", "/api/v1/tokens", { read_only: true })).token;
  const as = (token, body, chat) => fetch(`${server.url}/mcp${chat ? `?chat=${chat}` : ""}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json",
               Accept: "application/json", "MCP-Protocol-Version": kModern,
               "Mcp-Method": body.method,
               ...(body.method === "tools/call" ? { "Mcp-Name": body.params.name } : {}) },
    body: JSON.stringify(body),
  }).then((r) => r.json());
  // "modern-1" is admin's chat with a workspace (an earlier test); mallory's "modern-1" is hers.
  const ran = await as(mallory, { jsonrpc: "2.0", id: 31, method: "tools/call",
    params: { name: "execute", arguments: { command: "cat /etc/hostname" }, _meta: envelope() } },
    "modern-1");
  assert.equal(ran.result.isError, true, JSON.stringify(ran));
  assert.match(ran.result.structuredContent.error, /create_workspace/);
  const listed = await as(readOnly, { jsonrpc: "2.0", id: 32, method: "tools/list",
                                      params: { _meta: envelope() } });
  const names = listed.result.tools.map((t) => t.name);
  assert.ok(names.includes("list_templates") && !names.includes("execute"), names.join());
  const refused = await as(readOnly, { jsonrpc: "2.0", id: 33, method: "tools/call",
    params: { name: "execute", arguments: { command: "true" }, _meta: envelope() } }, "modern-1");
  assert.ok(refused.error || refused.result?.isError, JSON.stringify(refused));
  // The server still answers.
  const d = await post({ jsonrpc: "2.0", id: 34, method: "server/discover", params: { _meta: envelope() } });
  assert.equal(d.status, 200);
});
