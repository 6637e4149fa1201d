// The official MCP TypeScript SDK client spawning `berth mcp` (stdio), bridged to a server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startServer, berthBinary } from "./harness.mjs";

let server;
before(async () => {
  server = await startServer();
  await server.api("POST", "/api/v1/templates", {
    files: { "template.yaml": "name: shell\nagents:\n  - name: main\n" },
  });
});
after(async () => { await server?.stop(); });

function connect(token = server.token) {
  const transport = new StdioClientTransport({
    command: berthBinary, args: ["mcp", "--url", server.url, "--token", token], stderr: "pipe",
  });
  const client = new Client({ name: "berth-e2e-stdio", version: "0.0.1" });
  return { client, transport };
}

test("stdio: initialize, list tools, call a tool", async () => {
  const { client, transport } = connect();
  await client.connect(transport);
  assert.equal(client.getServerVersion().name, "berth");
  const { tools } = await client.listTools();
  assert.ok(tools.some((t) => t.name === "list_templates"));
  const list = await client.callTool({ name: "list_templates", arguments: {} });
  assert.equal(list.structuredContent.templates[0].name, "shell");
  await client.ping();
  await client.close();
});

test("stdio: a bad token is reported as an error, not a hang", async () => {
  const { client, transport } = connect("berth_bad_token");
  await assert.rejects(client.connect(transport), /invalid API token/);
  await client.close().catch(() => {});
});
