// The MCP Tasks extension (io.modelcontextprotocol/tasks) on 2026-07-28: a client that
// declares it gets create_workspace, start_workspace and wait_for_workspace as durable tasks it
// polls with tasks/get. Raw requests: the v2 SDK (2.4.0) has no client for this revision's
// Tasks extension. Includes the crash test: SIGKILL the server during a 30-second build,
// restart it on the same data directory, and tasks/get answers with the outcome.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { startServer, postModern, kModern, berthBinary } from "./harness.mjs";

let server;
const ids = {};

async function push(yaml) {
  return (await server.api("POST", "/api/v1/templates", { files: { "template.yaml": yaml } })).id;
}

before(async () => {
  server = await startServer();
  ids.shell = await push("name: shell\nagents:\n  - name: main\n");
  ids.slow = await push("name: slow30\nagents:\n  - name: main\nscripts:\n  start: sleep 30\n");
});
after(async () => { await server?.stop(); });

const kTasks = "io.modelcontextprotocol/tasks";
const envelope = (tasks = true) => ({
  "io.modelcontextprotocol/protocolVersion": kModern,
  "io.modelcontextprotocol/clientCapabilities": tasks ? { extensions: { [kTasks]: {} } } : {},
  "io.modelcontextprotocol/clientInfo": { name: "tasks-e2e", version: "1" },
});

let nextId = 1;
// tools/call in the chat `chat` (a key), declaring the extension unless tasks is false.
async function call(name, args, { chat, tasks = true, headers = {} } = {}) {
  return postModern(server, { jsonrpc: "2.0", id: nextId++, method: "tools/call",
                              params: { name, arguments: args, _meta: envelope(tasks) } },
                    headers, chat ? `?chat=${chat}` : "");
}

async function taskRequest(method, taskId, { tasks = true, headers = {} } = {}) {
  return postModern(server, { jsonrpc: "2.0", id: nextId++, method,
                              params: { taskId, _meta: envelope(tasks) } }, headers);
}

// Polls tasks/get at the task's pollIntervalMs until it ends; returns the last task and every
// statusMessage seen on the way.
async function pollUntilDone(taskId, limitMs = 180_000) {
  const messages = [];
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const r = await taskRequest("tasks/get", taskId);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const task = r.body.result;
    assert.equal(task.resultType, "complete");
    if (task.statusMessage && messages.at(-1) !== task.statusMessage) {
      messages.push(task.statusMessage);
    }
    if (task.status !== "working") return { task, messages };
    await sleep(task.pollIntervalMs);
  }
  throw new Error(`task ${taskId} still working after ${limitMs} ms: ${messages.join(" | ")}`);
}

test("server/discover offers the Tasks extension", async () => {
  const r = await postModern(server, { jsonrpc: "2.0", id: nextId++, method: "server/discover",
                                       params: { _meta: envelope() } });
  assert.deepEqual(r.body.result.capabilities.extensions, { [kTasks]: {} });
});

test("create_workspace runs as a task: durable at once, progress while polling, the result at the end",
     async () => {
  const started = await call("create_workspace", { template_id: ids.shell }, { chat: "t1" });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const created = started.body.result;
  assert.equal(created.resultType, "task");
  assert.match(created.taskId, /^[0-9a-f]{32}$/);
  assert.equal(created.status, "working");
  assert.ok(created.ttlMs > 0 && created.pollIntervalMs > 0);
  assert.ok(!Number.isNaN(Date.parse(created.createdAt)));
  // Durable before the answer: the very next request finds it.
  const first = await taskRequest("tasks/get", created.taskId);
  assert.equal(first.body.result.taskId, created.taskId);

  const { task, messages } = await pollUntilDone(created.taskId);
  assert.equal(task.status, "completed", JSON.stringify(task));
  assert.ok(messages.length >= 1);
  const result = task.result;
  assert.equal(result.isError, undefined, JSON.stringify(result));
  assert.equal(result.structuredContent.created, true);
  assert.ok(result.structuredContent.workspace_name);
  assert.equal(JSON.parse(result.content[0].text).workspace_name,
               result.structuredContent.workspace_name);

  // The chat keeps its one workspace: a second create_workspace task returns it.
  const again = await call("create_workspace", { template_id: ids.shell }, { chat: "t1" });
  const second = await pollUntilDone(again.body.result.taskId);
  assert.equal(second.task.result.structuredContent.created, false);
  assert.equal(second.task.result.structuredContent.workspace_name,
               result.structuredContent.workspace_name);
});

test("only the long tools run as tasks, and only for clients that declare the extension",
     async () => {
  const list = await call("list_templates", {}, { chat: "t2" });
  assert.equal(list.body.result.resultType, "complete");
  assert.ok(list.body.result.structuredContent.templates.length >= 2);
  const plain = await call("wait_for_workspace", {}, { chat: "t2", tasks: false });
  assert.equal(plain.body.result.resultType, "complete");
  assert.equal(plain.body.result.taskId, undefined);
  const asTask = await call("wait_for_workspace", {}, { chat: "t2" });
  assert.equal(asTask.body.result.resultType, "task");
  const { task } = await pollUntilDone(asTask.body.result.taskId);
  assert.equal(task.status, "completed");
  // The chat has no workspace: the tool's own answer, as a completed task's result.
  assert.equal(task.result.isError, true);
  assert.match(task.result.structuredContent.error, /create_workspace/);
});

test("tasks/ requests: -32021 without the extension, -32602 for unknown and other users' tasks, Mcp-Name checked",
     async () => {
  const started = await call("wait_for_workspace", {}, { chat: "t3" });
  const taskId = started.body.result.taskId;

  const undeclared = await taskRequest("tasks/get", taskId, { tasks: false });
  assert.equal(undeclared.body.error.code, -32021);
  assert.deepEqual(undeclared.body.error.data, { requiredCapabilities: { extensions: { [kTasks]: {} } } });
  assert.match(undeclared.body.error.message, /declare it/);

  const unknown = await taskRequest("tasks/get", "0".repeat(32));
  assert.equal(unknown.body.error.code, -32602);
  assert.match(unknown.body.error.message, /Task not found.*call the tool again/);

  const noId = await postModern(server, { jsonrpc: "2.0", id: nextId++, method: "tasks/get",
                                          params: { _meta: envelope() } });
  assert.equal(noId.body.error.code, -32602);
  assert.match(noId.body.error.message, /params\.taskId/);

  // Another user knows the task id: to her it does not exist, and cancelling it does nothing.
  await server.api("POST", "/api/v1/users", { username: "eve" });
  const eve = (await server.api("POST", "/api/v1/tokens", { username: "eve" })).token;
  const asEve = { Authorization: `Bearer ${eve}` };
  for (const method of ["tasks/get", "tasks/cancel", "tasks/update"]) {
    const r = await taskRequest(method, taskId, { headers: asEve });
    assert.equal(r.body.error?.code, -32602, `${method}: ${JSON.stringify(r.body)}`);
  }
  // The same user's token scoped to another organization: the task is not in its reach.
  await server.api("POST", "/api/v1/organizations", { name: "elsewhere" });
  const scoped = (await server.api("POST", "/api/v1/tokens", { organization: "elsewhere" })).token;
  for (const method of ["tasks/get", "tasks/cancel"]) {
    const r = await taskRequest(method, taskId, { headers: { Authorization: `Bearer ${scoped}` } });
    assert.equal(r.body.error?.code, -32602, `${method}: ${JSON.stringify(r.body)}`);
  }
  // A read-only token of the same user reads the task but may not cancel it.
  const readOnly = (await server.api("POST", "/api/v1/tokens", { read_only: true })).token;
  const ro = { Authorization: `Bearer ${readOnly}` };
  assert.equal((await taskRequest("tasks/get", taskId, { headers: ro })).body.result.taskId, taskId);
  const roCancel = await taskRequest("tasks/cancel", taskId, { headers: ro });
  assert.match(roCancel.body.error.message, /read-only/);

  const mismatch = await taskRequest("tasks/get", taskId, { headers: { "Mcp-Name": "other" } });
  assert.equal(mismatch.status, 400);
  assert.equal(mismatch.body.error.code, -32020);
  assert.match(mismatch.body.error.message, /Mcp-Name/);

  const update = await taskRequest("tasks/update", taskId);
  assert.deepEqual(Object.keys(update.body.result).sort(), ["_meta", "resultType"]);
  // The server still answers.
  assert.equal((await pollUntilDone(taskId)).task.status, "completed");
});

test("over stdio, berth mcp carries tasks: the task's Mcp-Name header comes from params.taskId",
     async () => {
  const child = spawn(berthBinary, ["mcp", "--url", server.url, "--token", server.token,
                                    "--chat", "stdio-tasks"], { stdio: ["pipe", "pipe", "pipe"] });
  const answers = new Map();
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => { const m = JSON.parse(line); answers.set(m.id, m); });
  const request = async (method, params) => {
    const id = nextId++;
    child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method,
                                       params: { ...params, _meta: envelope() } }) + "\n");
    for (let i = 0; i < 500 && !answers.has(id); i++) await sleep(20);
    assert.ok(answers.has(id), `no answer to ${method}`);
    return answers.get(id);
  };
  try {
    const started = await request("tools/call",
                                  { name: "create_workspace", arguments: { template_id: ids.shell } });
    assert.equal(started.result.resultType, "task", JSON.stringify(started));
    let task;
    for (let i = 0; i < 300; i++) {
      task = (await request("tasks/get", { taskId: started.result.taskId })).result;
      assert.ok(task, "tasks/get answered");
      if (task.status !== "working") break;
      await sleep(task.pollIntervalMs);
    }
    assert.equal(task.status, "completed", JSON.stringify(task));
    assert.equal(task.result.structuredContent.created, true);
  } finally {
    child.kill();
  }
});

test("tasks/cancel ends the task's wait as cancelled; the build goes on", async () => {
  const started = await call("create_workspace", { template_id: ids.slow }, { chat: "t4" });
  const taskId = started.body.result.taskId;
  await sleep(500);
  const cancelled = await taskRequest("tasks/cancel", taskId);
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  assert.equal(cancelled.body.result.resultType, "complete");
  const { task } = await pollUntilDone(taskId, 30_000);
  assert.equal(task.status, "cancelled");
  assert.match(task.statusMessage, /wait_for_workspace/);
  // Cancelling again, after the end, is acknowledged and changes nothing.
  assert.equal((await taskRequest("tasks/cancel", taskId)).status, 200);
  assert.equal((await taskRequest("tasks/get", taskId)).body.result.status, "cancelled");
});

test("a 30-second build survives a SIGKILLed server: after a restart, tasks/get answers with the outcome",
     async () => {
  const started = await call("create_workspace", { template_id: ids.slow }, { chat: "crash" });
  const taskId = started.body.result.taskId;
  // Poll into the build, then kill the server mid-task.
  for (let i = 0; i < 20; i++) {
    const r = await taskRequest("tasks/get", taskId);
    assert.equal(r.body.result.status, "working");
    if (/build|start/.test(r.body.result.statusMessage ?? "")) break;
    await sleep(250);
  }
  await sleep(2000);
  await server.kill();
  // The restarted server is the one after() stops (and its stop removes the data directory).
  server = await startServer([], { dir: server.dir });

  const { task, messages } = await pollUntilDone(taskId);
  assert.equal(task.status, "completed", JSON.stringify(task));
  assert.ok(task.result.structuredContent, JSON.stringify(task.result));
  // The build the crash killed was failed by the restarted server; the task's call, run again,
  // replaced that workspace with a new one and waited for it to be ready.
  assert.equal(task.result.isError, undefined, JSON.stringify(task.result));
  assert.equal(task.result.structuredContent.created, true);
  const replaced = task.result.structuredContent.replaced_workspace;
  assert.ok(replaced, JSON.stringify(task.result));
  assert.match(replaced.reason, /failed/);
  if (process.env.BERTH_TEST_VERBOSE) console.log(JSON.stringify({ task, messages }, null, 1));
  assert.ok(messages.length >= 1);
});
