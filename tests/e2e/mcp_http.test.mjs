// The official MCP TypeScript SDK client against Berth's Streamable HTTP transport (/mcp).
// The SDK validates every structuredContent against the tool's outputSchema.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, connectHttp } from "./harness.mjs";

let server;
before(async () => {
  server = await startServer();
  await server.api("POST", "/api/v1/templates", {
    files: { "template.yaml": "name: shell\ndescription: A plain shell\nagents:\n  - name: main\n",
             "README.md": "# shell" },
  });
});
after(async () => { await server?.stop(); });

test("initialize negotiates 2025-11-25 and opens a session", async () => {
  const { client, transport } = await connectHttp(server);
  assert.equal(client.getServerVersion().name, "berth");
  assert.match(transport.sessionId, /^[0-9a-f]{32}$/);
  assert.ok(client.getServerCapabilities().tools);
  await client.ping();
  await client.close();
});

test("tools/list carries schemas and hints", async () => {
  const { client } = await connectHttp(server);
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  assert.ok(names.includes("list_templates"));
  assert.ok(names.includes("read_template"));
  for (const t of tools) {
    assert.equal(t.inputSchema.type, "object");
    assert.equal(t.outputSchema.type, "object");
  }
  assert.equal(tools.find((t) => t.name === "list_templates").annotations.readOnlyHint, true);
  await client.close();
});

test("list_templates then read_template", async () => {
  const { client } = await connectHttp(server);
  const list = await client.callTool({ name: "list_templates", arguments: {} });
  assert.ok(!list.isError);
  assert.equal(list.structuredContent.templates.length, 1);
  const id = list.structuredContent.templates[0].id;
  assert.deepEqual(JSON.parse(list.content[0].text), list.structuredContent);
  const read = await client.callTool({ name: "read_template", arguments: { template_id: id } });
  assert.equal(read.structuredContent.template.name, "shell");
  assert.equal(read.structuredContent.template.readme, "# shell");
  await client.close();
});

test("bad arguments are tool errors; unknown tools are protocol errors", async () => {
  const { client } = await connectHttp(server);
  const bad = await client.callTool({ name: "read_template", arguments: { template_id: "nope" } });
  assert.equal(bad.isError, true);
  assert.equal(bad.structuredContent.error,
               "invalid template_id: invalid UUID length: 4; pass the id of a template from list_templates");
  await assert.rejects(client.callTool({ name: "no_such_tool", arguments: {} }), /Unknown tool: no_such_tool/);
  await client.close();
});
