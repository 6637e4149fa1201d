// Starts a real `berth server` for an end-to-end test and connects the official MCP SDK client.
import { spawn } from "node:child_process";
import { mkdtempSync, existsSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync }
  from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

export const berthBinary = process.env.BERTH_BINARY;
if (!berthBinary) throw new Error("set BERTH_BINARY to the berth executable (ctest does)");

// Agents outlive a killed server on purpose (they reconnect to the next one): end those of
// this test, unisolated ones by their working directory, sandboxes by their bwrap command line.
function killProcessesUnder(dir) {
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    try {
      let cwd = "";
      try { cwd = readlinkSync(`/proc/${pid}/cwd`); } catch {}
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (cwd.startsWith(dir) || (cmd[0] === "bwrap" && cmd.some((a) => a.startsWith(dir)))) {
        process.kill(Number(pid), "SIGKILL");
      }
    } catch {}
  }
}

// A killed server leaves its workspaces' control groups (berth-<id>): remove them, as a
// delete would have.
function removeCgroupsOf(workspaces) {
  let names;
  try { names = new Set(readdirSync(workspaces).map((id) => `berth-${id}`)); } catch { return; }
  const walk = (dir, depth) => {
    let entries = [];
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const path = join(dir, e.name);
      if (names.has(e.name)) {
        try { rmdirSync(path); } catch {}
      } else if (depth < 3) {
        walk(path, depth + 1);
      }
    }
  };
  for (const c of ["memory", "pids", "cpu"]) walk(join("/sys/fs/cgroup", c), 0);
}

// `dir`: the data directory of a server killed before (a restart); a new one by default.
export async function startServer(extraArgs = [], { dir } = {}) {
  dir ??= mkdtempSync(join(tmpdir(), "berth-e2e-"));
  rmSync(join(dir, "server.url"), { force: true });
  const child = spawn(berthBinary, ["server", "--data-dir", dir, "--listen", "127.0.0.1:0",
                                    "--no-example-templates", ...extraArgs],
                      { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (d) => { log += d; });
  for (let i = 0; i < 500 && !existsSync(join(dir, "server.url")); i++) await sleep(10);
  if (!existsSync(join(dir, "server.url"))) throw new Error(`berth server did not start:\n${log}`);
  const url = readFileSync(join(dir, "server.url"), "utf8").trim();
  const token = readFileSync(join(dir, "admin.token"), "utf8").trim();
  return {
    dir, url, token,
    log: () => log,
    async api(method, path, body) {
      const res = await fetch(url + path, {
        method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : {};
    },
    // SIGKILL the server alone (a crash): its data directory and workspaces stay, for a
    // restart with startServer(args, { dir }).
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      child.kill("SIGKILL");
      killProcessesUnder(dir);
      removeCgroupsOf(join(dir, "workspaces"));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const kModern = "2026-07-28";

// One raw 2026-07-28 POST to /mcp with the headers a client sends (Mcp-Name from the tool or
// the task), `override` on top; `query` names the chat ("?chat=KEY"). Answers
// { status, headers, body }: the JSON body, or from a streamed answer the message that
// answers this request.
export async function postModern(server, body, override = {}, query = "") {
  const named = body.method === "tools/call" ? body.params.name
    : body.method?.startsWith("tasks/") ? body.params?.taskId : undefined;
  const name = typeof named === "string" ? { "Mcp-Name": named } : {};
  const res = await fetch(server.url + "/mcp" + query, {
    method: "POST",
    headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json",
               Accept: "application/json, text/event-stream", "MCP-Protocol-Version": kModern,
               "Mcp-Method": body.method, ...name, ...override },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.headers.get("content-type") !== "text/event-stream") {
    return { status: res.status, headers: res.headers, body: JSON.parse(text) };
  }
  const messages = text.split("\n\n").filter((f) => f.includes("data: "))
    .map((f) => JSON.parse(f.slice(f.indexOf("data: ") + 6)));
  return { status: res.status, headers: res.headers, body: messages.find((m) => m.id === body.id) };
}

export async function connectHttp(server, query = "") {
  const transport = new StreamableHTTPClientTransport(new URL(server.url + "/mcp" + query), {
    requestInit: { headers: { Authorization: `Bearer ${server.token}` } },
  });
  const client = new Client({ name: "berth-e2e", version: "0.0.1" });
  await client.connect(transport);
  return { client, transport };
}
