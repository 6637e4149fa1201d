// The OpenAPI document (/api/v1/openapi.json) against a standard validator and against the
// server itself: swagger-parser checks the document; then a session that touches every
// public endpoint validates each real answer (status, content type, body) with Ajv against
// the schema the document gives for it, and every documented public operation must have been
// checked at least once.
import { test } from "node:test";
import assert from "node:assert/strict";
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { startServer } from "./harness.mjs";

// Operations the session cannot reach as a REST client: the agents' WebSocket, the daemons'
// and replicas' own endpoints, and the chat watch stream (SSE, no JSON body).
const unchecked = new Set([
  "GET /api/v1/agent/connect",
  "POST /api/v1/provisioner/call",
  "POST /api/v1/replicas/agent-call",
  "GET /api/v1/chats/{id}/watch",
  "POST /api/v1/workspaces/{id}/agent-token",
]);

function matcher(doc) {
  const routes = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const re = new RegExp("^" + path.replace(/\{[^}]+\}/g, "[^/]+") + "$");
    for (const method of ["get", "post", "put", "delete"]) {
      if (item[method]) routes.push({ path, method, re, op: item[method] });
    }
  }
  return (method, path) => routes.find((r) => r.method === method.toLowerCase() &&
                                              r.re.test(path.split("?")[0]));
}

test("the OpenAPI document is valid and every answer matches it", async () => {
  const server = await startServer();
  try {
    const raw = await (await fetch(server.url + "/api/v1/openapi.json")).json();
    assert.equal(raw.openapi, "3.1.0");
    // The standard validator (structure, $refs, 3.1 rules); it resolves a copy.
    await SwaggerParser.validate(structuredClone(raw));
    const doc = await SwaggerParser.dereference(structuredClone(raw));
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const find = matcher(doc);
    const checked = new Set();

    // One request, its answer validated against the document.
    async function call(method, path, body, { token = server.token, expect } = {}) {
      const headers = { "Content-Type": "application/json" };
      if (token) headers.Authorization = `Bearer ${token}`;
      const res = await fetch(server.url + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      const route = find(method, path);
      assert.ok(route, `${method} ${path} is not in the document`);
      const key = `${method} ${route.path}`;
      const answer = route.op.responses[String(res.status)];
      assert.ok(answer, `${key} answered ${res.status}, which the document does not list: ${text}`);
      if (expect !== undefined) assert.equal(res.status, expect, `${key}: ${text}`);
      const type = (res.headers.get("content-type") || "").split(";")[0];
      if (answer.content) {
        assert.ok(answer.content[type], `${key} ${res.status} answered ${type}, not documented`);
        if (type === "application/json") {
          const validate = ajv.compile(answer.content[type].schema);
          const value = JSON.parse(text);
          assert.ok(validate(value), `${key} ${res.status} does not match its schema: ` +
                    `${ajv.errorsText(validate.errors)}\n${text.slice(0, 2000)}`);
        }
      } else {
        assert.equal(text, "", `${key} ${res.status} has a body the document does not describe`);
      }
      checked.add(key);
      return text && type === "application/json" ? JSON.parse(text) : text;
    }

    await call("GET", "/healthz", undefined, { token: "" });
    await call("GET", "/api/v1/openapi.json", undefined, { token: "" });
    await call("GET", "/metrics");
    await call("GET", "/", undefined, { token: "" });
    await call("GET", "/assets/app.js", undefined, { token: "" });
    await call("GET", "/assets/style.css", undefined, { token: "" });
    await call("GET", "/assets/nope.js", undefined, { token: "", expect: 404 });
    await call("POST", "/api/v1/sessions", { token: server.token }, { token: "", expect: 201 });
    await call("POST", "/api/v1/sessions", { token: "berth_nope" }, { token: "", expect: 401 });
    await call("POST", "/api/v1/sessions", {}, { token: "", expect: 400 });
    await call("GET", "/api/v1/sessions/current");
    await call("DELETE", "/api/v1/sessions/current", undefined, { expect: 400 });
    const yaml = "name: shell\nisolation: sandbox\nparameters:\n  - {name: greeting, type: " +
                 "string, default: hi, mutable: true}\npresets:\n  - {name: quick}\nagents:\n" +
                 "  - name: main\n    startup_script: echo started\nscripts:\n  start: echo building\n";
    await call("POST", "/api/v1/templates", { files: { "template.yaml": yaml } }, { expect: 201 });
    await call("POST", "/api/v1/templates", { files: { "template.yaml": yaml + "\n" } });
    await call("POST", "/api/v1/templates", { files: {} }, { expect: 400 });
    await call("GET", "/api/v1/templates");
    await call("GET", "/api/v1/templates/shell");
    await call("GET", "/api/v1/templates/nope", undefined, { expect: 404 });
    await call("GET", "/api/v1/templates/shell/versions");
    await call("GET", "/api/v1/templates/nope/versions", undefined, { expect: 404 });

    const ws = await call("POST", "/api/v1/workspaces", { template: "shell", name: "doc" },
                          { expect: 201 });
    await call("POST", "/api/v1/workspaces", {}, { expect: 400 });
    await call("GET", "/api/v1/workspaces");
    await call("GET", "/api/v1/workspaces?limit=1&offset=0&status=running&q=do&template=shell");
    await call("GET", "/api/v1/workspaces?limit=0", undefined, { expect: 400 });
    await call("GET", "/api/v1/workspaces?status=sleeping", undefined, { expect: 400 });
    await call("GET", "/api/v1/workspaces/doc");
    await call("GET", "/api/v1/workspaces/nope", undefined, { expect: 404 });
    await call("PUT", "/api/v1/workspaces/doc/ports/8080", {}, { expect: 200 });
    await call("PUT", "/api/v1/workspaces/doc/ports/3000", { public: true }, { expect: 200 });
    await call("PUT", "/api/v1/workspaces/doc/ports/08080", {}, { expect: 400 });
    await call("PUT", "/api/v1/workspaces/doc/ports/80", { public: "yes" }, { expect: 400 });
    await call("GET", "/api/v1/workspaces/doc/ports");
    await call("GET", "/api/v1/workspaces/nope/ports", undefined, { expect: 404 });
    await call("DELETE", "/api/v1/workspaces/doc/ports/3000", undefined, { expect: 204 });
    await call("DELETE", "/api/v1/workspaces/doc/ports/3000", undefined, { expect: 404 });
    const ready = await call("GET", `/api/v1/workspaces/${ws.id}/wait?timeout=30s`);
    assert.equal(ready.readiness.phase, "ready");
    const build = ready.latest_build;
    await call("GET", `/api/v1/builds/${build.id}`);
    await call("GET", `/api/v1/builds/${build.id}/logs`);
    await call("GET", `/api/v1/builds/${build.id}/logs?limit=x`, undefined, { expect: 400 });
    const agent = ready.agents[0];
    await call("GET", `/api/v1/agents/${agent.id}/logs`);
    await call("GET", `/api/v1/agents/${agent.id}/logs?after=-1`, undefined, { expect: 400 });
    await call("POST", `/api/v1/agents/${agent.id}/exec`, { command: "echo hi" });
    await call("POST", `/api/v1/agents/${agent.id}/files/write`, { path: "a.txt", content: "x\n" });
    await call("POST", `/api/v1/agents/${agent.id}/files/read`, { path: "a.txt" });
    await call("POST", `/api/v1/workspaces/${ws.id}/stop`, undefined, { expect: 201 });
    await call("POST", `/api/v1/workspaces/${ws.id}/stop`, undefined, { expect: 409 });
    await call("GET", `/api/v1/workspaces/${ws.id}/wait?timeout=30s`);
    await call("POST", `/api/v1/workspaces/${ws.id}/start`, { parameters: { greeting: "yo" } },
               { expect: 201 });
    await call("GET", `/api/v1/workspaces/${ws.id}/wait?timeout=30s`);

    const chat = await call("POST", "/api/v1/chats", {}, { expect: 201 });
    await call("POST", "/api/v1/chats", { key: "doc-chat" }, { expect: 200 });
    await call("GET", "/api/v1/chats");
    await call("GET", `/api/v1/chats/${chat.id}`);
    await call("POST", `/api/v1/chats/${chat.id}/workspace`, { workspace: "doc" });
    await call("POST", `/api/v1/chats/${chat.id}/workspace`, {}, { expect: 400 });
    await call("DELETE", `/api/v1/workspaces/${ws.id}`, undefined, { expect: 202 });

    await call("POST", "/api/v1/users", { username: "bob", email: "bob@example.com" },
               { expect: 201 });
    await call("POST", "/api/v1/users", { username: "bob" }, { expect: 409 });
    await call("GET", "/api/v1/users/me");
    await call("GET", "/api/v1/users");
    const token = await call("POST", "/api/v1/tokens", { username: "bob", read_only: true },
                             { expect: 201 });
    await call("GET", "/api/v1/tokens");
    await call("GET", "/metrics", undefined, { token: token.token, expect: 403 });
    await call("GET", "/api/v1/workspaces", undefined, { token: "nope", expect: 401 });
    await call("DELETE", `/api/v1/tokens/${token.id}`, undefined, { expect: 204 });
    await call("POST", "/api/v1/users/bob/suspend", undefined, { expect: 204 });
    await call("POST", "/api/v1/users/bob/unsuspend", undefined, { expect: 204 });
    await call("POST", "/api/v1/organizations", { name: "team", display_name: "Team" },
               { expect: 201 });
    await call("GET", "/api/v1/organizations");
    await call("PUT", "/api/v1/organizations/team/members/bob", { role: "admin" }, { expect: 204 });
    await call("PUT", "/api/v1/organizations/team/members/bob", { role: "boss" }, { expect: 400 });
    await call("GET", "/api/v1/organizations/team/members");
    await call("GET", "/api/v1/organizations/nope/members", undefined, { expect: 404 });
    await call("DELETE", "/api/v1/organizations/team/members/bob", undefined, { expect: 204 });
    await call("PUT", "/api/v1/organizations/default/quota", { budget: 40 });
    await call("PUT", "/api/v1/organizations/default/quota", { user: "bob", budget: 10 });
    await call("GET", "/api/v1/organizations/default/quota");
    await call("GET", "/api/v1/organizations/default/quotas");
    await call("PUT", "/api/v1/config/agents_workspace_ttl", { value: "2h" });
    await call("GET", "/api/v1/config/agents_workspace_ttl");
    await call("POST", "/api/v1/provisioner-keys", { name: "fleet", tags: { gpu: "a100" } },
               { expect: 201 });
    await call("GET", "/api/v1/provisioner-keys");
    await call("GET", "/api/v1/provisioners");
    await call("DELETE", "/api/v1/provisioner-keys/fleet", undefined, { expect: 204 });

    // /mcp: its errors are JSON-RPC shaped.
    const init = await fetch(server.url + "/mcp", {
      method: "POST",
      headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json",
                 Accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize",
                             params: { protocolVersion: "2025-11-25", capabilities: {},
                                       clientInfo: { name: "doc", version: "1" } } }),
    });
    assert.equal(init.status, 200);
    checked.add("POST /mcp");
    const session = init.headers.get("mcp-session-id");
    await call("GET", "/mcp", undefined, { expect: 405 });
    const del = await fetch(server.url + "/mcp", {
      method: "DELETE", headers: { Authorization: `Bearer ${server.token}`,
                                   "Mcp-Session-Id": session } });
    assert.equal(del.status, 200);
    checked.add("DELETE /mcp");
    await call("POST", "/api/v1/tokens/rotate-bootstrap", undefined, { expect: 201 });

    const missing = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of ["get", "post", "put", "delete"]) {
        const key = `${method.toUpperCase()} ${path}`;
        if (item[method] && !checked.has(key) && !unchecked.has(key)) missing.push(key);
      }
    }
    assert.deepEqual(missing, [], "documented operations this test never checked");
  } finally {
    await server.stop();
  }
});
