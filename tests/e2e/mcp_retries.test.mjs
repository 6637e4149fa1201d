// Safe retries on 2026-07-28, where a cut stream does not resume and clients re-send the call:
// a re-sent create_workspace returns the workspace the first call made; a re-sent execute does
// not run the command twice: while the first still runs it says the outcome is unknown, and
// then it gets the first call's answer, once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startServer, postModern, kModern } from "./harness.mjs";

let server;
const ids = {};

before(async () => {
  // The default keep-alive (15 s): a cut stream is noticed by watching its socket, not by the
  // next write, so a retry sent at once already finds the first call cut off.
  server = await startServer();
  const push = async (yaml) =>
    (await server.api("POST", "/api/v1/templates", { files: { "template.yaml": yaml } })).id;
  ids.shell = await push("name: shell\nagents:\n  - name: main\n");
  ids.slow = await push("name: slow5\nagents:\n  - name: main\nscripts:\n  start: sleep 5\n");
});
after(async () => { await server?.stop(); });

const envelope = (extra = {}) => ({
  "io.modelcontextprotocol/protocolVersion": kModern,
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "retries-e2e", version: "1" },
  ...extra,
});

let nextId = 1;
const call = (name, args, chat) =>
  postModern(server, { jsonrpc: "2.0", id: nextId++, method: "tools/call",
                       params: { name, arguments: args, _meta: envelope() } }, {}, `?chat=${chat}`);

// Sends a call asking for progress and cuts its stream at the first progress notification,
// as a client whose connection dropped.
async function callAndCut(name, args, chat) {
  const controller = new AbortController();
  const res = await fetch(`${server.url}/mcp?chat=${chat}`, {
    method: "POST",
    signal: controller.signal,
    headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json",
               Accept: "application/json, text/event-stream", "MCP-Protocol-Version": kModern,
               "Mcp-Method": "tools/call", "Mcp-Name": name },
    body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method: "tools/call",
                           params: { name, arguments: args,
                                     _meta: envelope({ progressToken: `p${nextId}` }) } }),
  });
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("notifications/progress")) {
    const { value, done } = await reader.read();
    assert.ok(!done, `the stream ended before any progress: ${text}`);
    text += decoder.decode(value);
  }
  controller.abort();
  await reader.cancel().catch(() => {});
}

test("a create_workspace re-sent after its stream was cut returns the workspace the first call made",
     async () => {
  await callAndCut("create_workspace", { template_id: ids.slow }, "cut-create");
  const retried = await call("create_workspace", { template_id: ids.slow }, "cut-create");
  const result = retried.body.result.structuredContent;
  assert.equal(retried.body.result.isError, undefined, JSON.stringify(result));
  assert.equal(result.created, false, JSON.stringify(result));
  const workspaces = (await server.api("GET", "/api/v1/workspaces"))
    .filter((w) => w.template_name === "slow5");
  assert.equal(workspaces.length, 1, "one workspace, made by the first call");
  assert.equal(`${workspaces[0].owner_name}/${workspaces[0].name}`, result.workspace_name);
});

test("an execute re-sent after its stream was cut never runs twice: outcome unknown while it runs, then the first answer, once",
     async () => {
  const chat = "cut-exec";
  const made = await call("create_workspace", { template_id: ids.shell }, chat);
  assert.equal(made.body.result.isError, undefined, JSON.stringify(made.body));
  const command = { command: "echo started; echo run >> runs.txt; sleep 3; echo finished" };
  await callAndCut("execute", command, chat);

  const during = await call("execute", command, chat);
  const unknown = during.body.result.structuredContent;
  assert.equal(during.body.result.isError, true, JSON.stringify(unknown));
  assert.equal(unknown.outcome, "unknown");
  assert.match(unknown.error, /still running; it was not started again.*call execute again/);

  let answered;
  for (let i = 0; i < 50 && !answered; i++) {
    await sleep(200);
    const r = (await call("execute", command, chat)).body.result;
    if (r.structuredContent.outcome !== "unknown") answered = r;
  }
  assert.ok(answered, "the first call's answer arrived");
  assert.equal(answered.structuredContent.exit_code, 0, JSON.stringify(answered));
  assert.match(answered.structuredContent.output, /started\nfinished/);
  assert.match(answered.structuredContent.earlier_call.note, /ran once and was not run again/);
  const runs = (await call("execute", { command: "cat runs.txt" }, chat)).body.result;
  assert.equal(runs.structuredContent.output, "run\n", "the command ran once");

  // Handed over once: the same command sent again now is a new call, and runs.
  const fresh = (await call("execute", command, chat)).body.result.structuredContent;
  assert.equal(fresh.earlier_call, undefined);
  assert.equal((await call("execute", { command: "cat runs.txt" }, chat)).body.result
    .structuredContent.output, "run\nrun\n");
});

test("a call answered as plain JSON is cancelled when its client leaves, and its retry knows",
     async () => {
  const chat = "cut-json";
  const made = await call("create_workspace", { template_id: ids.shell }, chat);
  assert.equal(made.body.result.isError, undefined, JSON.stringify(made.body));
  const command = { command: "sleep 2; echo done-json" };
  // A client that takes only JSON, gone half a second into the call.
  const controller = new AbortController();
  const sent = fetch(`${server.url}/mcp?chat=${chat}`, {
    method: "POST",
    signal: controller.signal,
    headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json",
               Accept: "application/json", "MCP-Protocol-Version": kModern,
               "Mcp-Method": "tools/call", "Mcp-Name": "execute" },
    body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method: "tools/call",
                           params: { name: "execute", arguments: command, _meta: envelope() } }),
  }).catch(() => {});
  await sleep(500);
  controller.abort();
  await sent;
  await sleep(100);
  const during = (await call("execute", command, chat)).body.result.structuredContent;
  assert.equal(during.outcome, "unknown", JSON.stringify(during));
});
