// The four MCP clients every tool scenario runs with: the v1 SDK (@modelcontextprotocol/sdk,
// revision 2025-11-25, sessions) and the v2 SDK (@modelcontextprotocol/client pinned to
// 2026-07-28, stateless), each over Streamable HTTP and over `berth mcp` (stdio). Each
// connection names its chat (a fresh key unless given), so both eras mean the same thing by it.
import { randomUUID } from "node:crypto";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as HttpV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport as StdioV1 } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from "@modelcontextprotocol/client";
import { StdioClientTransport as StdioV2 } from "@modelcontextprotocol/client/stdio";
import { berthBinary } from "./harness.mjs";

const kModern = "2026-07-28";
// Clients still open: a test that fails before closing its client must not leave a `berth mcp`
// child that keeps the test process alive.
const open = new Set();

export async function closeAllClients() {
  await Promise.allSettled([...open].map((c) => c.close()));
  open.clear();
}

function transport(kind, v2, server, chat) {
  if (kind === "http") {
    const Http = v2 ? HttpV2 : HttpV1;
    return new Http(new URL(`${server.url}/mcp?chat=${encodeURIComponent(chat)}`), {
      requestInit: { headers: { Authorization: `Bearer ${server.token}` } },
    });
  }
  const Stdio = v2 ? StdioV2 : StdioV1;
  return new Stdio({
    command: berthBinary,
    args: ["mcp", "--url", server.url, "--token", server.token, "--chat", chat],
    stderr: "pipe",
  });
}

function client(name, kind, v2) {
  return {
    name,
    modern: v2,
    // A connected client with `call(params, {onprogress, signal})` the same in both SDKs.
    async connect(server, chat = `e2e-${randomUUID()}`) {
      const c = v2
        ? new ClientV2({ name: `berth-e2e-${name}`, version: "0.0.1" },
                       { versionNegotiation: { mode: { pin: kModern } } })
        : new ClientV1({ name: `berth-e2e-${name}`, version: "0.0.1" });
      await c.connect(transport(kind, v2, server, chat));
      open.add(c);
      const close = c.close.bind(c);
      c.close = async () => { open.delete(c); await close(); };
      c.call = (params, options) => (v2 ? c.callTool(params, options)
                                        : c.callTool(params, undefined, options));
      return c;
    },
  };
}

export const clients = [
  client("2025-11-25 http", "http", false),
  client("2025-11-25 stdio", "stdio", false),
  client("2026-07-28 http", "http", true),
  client("2026-07-28 stdio", "stdio", true),
];
