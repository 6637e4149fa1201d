// Berth's dashboard: plain modules, no framework, served by the binary itself. Every view is
// built from the REST API (docs/api.md) with the session cookie; changes send X-CSRF-Token.

const main = document.getElementById("main");
const statusBox = document.getElementById("status");
let session = null; // {user, csrf_token, read_only}
let cleanups = []; // what the current view started (streams, timers)

// --- helpers ---------------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "style") Object.assign(el.style, v); // CSSOM: allowed by the page's CSP
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.detail = body?.detail || "";
    this.validations = body?.validations || [];
  }
}

async function api(method, path, body, { headers: wantHeaders = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session?.csrf_token) headers["X-CSRF-Token"] = session.csrf_token;
  const res = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (res.status === 401 && !path.startsWith("/api/v1/sessions")) {
    session = null;
    location.hash = "#/signin";
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return wantHeaders ? { data, headers: res.headers } : data;
}

// A labelled control: <div class="field"><label for=ID>TEXT</label>CONTROL</div>.
function field(text, control) {
  return h("div", { class: "field" }, h("label", { for: control.id }, text), control);
}

function errorBox(e) {
  return h("div", { class: "error", role: "alert" }, e.message,
           e.detail ? "\n" + e.detail : "",
           (e.validations || []).map((v) => `\n${v.field}: ${v.detail}`));
}

function say(text) {
  statusBox.textContent = text;
  statusBox.classList.add("show");
  clearTimeout(say.timer);
  say.timer = setTimeout(() => statusBox.classList.remove("show"), 2500);
}

function badge(value) {
  return h("span", { class: `badge s-${value}` }, value);
}

function when(t) {
  return t ? new Date(t).toLocaleString() : "—";
}

function seconds(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

function table(headers, rows, caption) {
  return h("table", {},
    caption ? h("caption", { class: "muted" }, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.length ? rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))
                               : h("tr", {}, h("td", { colspan: headers.length, class: "muted" },
                                               "Nothing here yet."))));
}

// Runs an action from a button: disables it, reports success or the error next to it.
async function act(button, label, fn) {
  button.disabled = true;
  const slot = button.closest("section, form, main").querySelector(":scope > .action-error");
  slot?.replaceChildren();
  try {
    await fn();
    say(label);
  } catch (e) {
    (slot || main).prepend(errorBox(e));
  } finally {
    button.disabled = false;
  }
}

function view(title, ...content) {
  document.title = `${title} · Berth`;
  main.replaceChildren(h("h1", {}, title), h("div", { class: "action-error" }), ...content);
  main.focus();
}

// --- sign in ---------------------------------------------------------------------------------

function signinPage() {
  const input = h("input", { id: "token", type: "password", autocomplete: "off", required: true,
                              "aria-describedby": "token-help" });
  const form = h("form", { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to Berth"),
    h("div", { class: "action-error" }),
    field("API token", input),
    h("p", { id: "token-help", class: "muted" },
      "A token from `berth tokens create`, or the first admin token in DATA/admin.token. " +
      "It is exchanged for a session cookie and not kept by this page."),
    h("button", { type: "submit", class: "primary" }, "Sign in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button");
    await act(button, "Signed in", async () => {
      session = await api("POST", "/api/v1/sessions", { token: input.value.trim() });
      input.value = "";
      showChrome();
      location.hash = "#/workspaces";
    });
  });
  document.title = "Sign in · Berth";
  main.replaceChildren(form);
  input.focus();
}

function showChrome() {
  document.getElementById("nav").hidden = !session;
  document.getElementById("signout").hidden = !session;
  document.getElementById("who").textContent = session
    ? `${session.user.username}${session.read_only ? " (read-only)" : ""}` : "";
  for (const el of document.querySelectorAll("[data-admin]")) {
    el.hidden = !session?.user?.site_admin;
  }
}

document.getElementById("signout").addEventListener("click", async () => {
  try { await api("DELETE", "/api/v1/sessions/current"); } catch { /* signed out anyway */ }
  session = null;
  showChrome();
  location.hash = "#/signin";
});

// --- workspaces ------------------------------------------------------------------------------

const kPage = 50;

async function workspacesPage() {
  const templates = await api("GET", "/api/v1/templates");
  const search = h("input", { id: "ws-search", type: "search", placeholder: "owner/name" });
  const status = h("select", { id: "ws-status" }, h("option", { value: "" }, "any"),
    ["running", "starting", "pending", "stopping", "stopped", "deleting", "failed"]
      .map((s) => h("option", { value: s }, s)));
  const tmplFilter = h("select", { id: "ws-template" }, h("option", { value: "" }, "any"),
    templates.map((t) => h("option", { value: t.name }, t.name)));
  const body = h("div");
  let offset = 0;
  // The server filters and pages (X-Total-Count says how many match).
  const load = async () => {
    const q = new URLSearchParams({ limit: kPage, offset });
    if (search.value.trim()) q.set("q", search.value.trim());
    if (status.value) q.set("status", status.value);
    if (tmplFilter.value) q.set("template", tmplFilter.value);
    const { data: list, headers } = await api("GET", `/api/v1/workspaces?${q}`, undefined,
                                              { headers: true });
    const total = Number(headers.get("X-Total-Count") || list.length);
    const prev = h("button", { type: "button", disabled: offset === 0 }, "Previous page");
    const next = h("button", { type: "button", disabled: offset + list.length >= total }, "Next page");
    prev.addEventListener("click", () => { offset = Math.max(0, offset - kPage); load(); });
    next.addEventListener("click", () => { offset += kPage; load(); });
    body.replaceChildren(table(["Workspace", "Template", "Status", "Agents", "Last build"],
      list.map((w) => [
        h("a", { href: `#/workspaces/${w.id}` }, w.full_name),
        w.template_name, badge(w.status),
        w.agents.map((a) => `${a.name} (${a.status}, ${a.lifecycle_state})`).join(", ") || "—",
        `${w.latest_build.transition} #${w.latest_build.build_number} ${w.latest_build.job.status}`,
      ]), total ? `${offset + 1}–${offset + list.length} of ${total} workspaces` : "No workspaces"),
      h("div", { class: "toolbar" }, prev, next));
  };
  let typing;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { offset = 0; load(); }, 250);
  });
  for (const el of [status, tmplFilter]) el.addEventListener("input", () => { offset = 0; load(); });

  const name = h("input", { id: "new-name", placeholder: "generated if empty" });
  const tmpl = h("select", { id: "new-template", required: true },
    templates.map((t) => h("option", { value: t.name }, t.display_name || t.name)));
  const create = h("form", { class: "inline", "aria-label": "New workspace" },
    field("Template", tmpl),
    field("Name", name),
    h("button", { type: "submit", class: "primary", disabled: session.read_only }, "Create workspace"));
  create.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(create.querySelector("button"), "Workspace created", async () => {
      const body = { template: tmpl.value };
      if (name.value.trim()) body.name = name.value.trim();
      const w = await api("POST", "/api/v1/workspaces", body);
      location.hash = `#/workspaces/${w.id}`;
    });
  });
  view("Workspaces", create,
       h("div", { class: "toolbar", role: "search" },
         field("Filter by name", search),
         field("Filter by status", status),
         field("Filter by template", tmplFilter)),
       body);
  await load();
}

// The phases of one build, from its recorded timestamps (each agent its own rows).
function phases(w) {
  const b = w.latest_build;
  const t = (x) => (x ? Date.parse(x) : null);
  const out = [
    ["Queued", t(b.created_at), t(b.job.started_at)],
    ["Build", t(b.job.started_at), t(b.job.completed_at)],
  ];
  if (b.transition === "start") {
    for (const a of w.agents) {
      out.push([`${a.name}: connected`, t(b.job.completed_at) ?? t(b.job.started_at),
                t(a.first_connected_at)]);
      out.push([`${a.name}: startup script`, t(a.started_at), t(a.ready_at)]);
    }
  }
  return out;
}

function waterfall(w) {
  const rows = phases(w);
  const start = rows[0][1];
  const ends = rows.flatMap((r) => [r[1], r[2]]).filter((x) => x !== null);
  const end = Math.max(start + 1, ...ends);
  const span = end - start;
  const ready = w.agents.length && w.agents.every((a) => a.ready_at)
    ? Math.max(...w.agents.map((a) => Date.parse(a.ready_at))) : null;
  const grid = h("div", { class: "waterfall", role: "list", "aria-label": "Build phases" },
    rows.map(([label, from, to]) => {
      const done = from !== null && to !== null;
      const left = from === null ? 0 : ((from - start) / span) * 100;
      const width = done ? Math.max(((to - from) / span) * 100, 0.4) : 0;
      const text = done ? seconds(to - from) : from !== null ? "in progress" : "—";
      return h("div", { role: "listitem", style: { display: "contents" } },
        h("span", {}, label),
        h("span", { class: "track", "aria-hidden": "true" },
          h("span", { class: "bar", style: { left: `${left}%`, width: `${width}%` } })),
        h("span", { class: "dur" }, text));
    }));
  return h("section", { "aria-labelledby": "wf-title" },
    h("h2", { id: "wf-title" }, `Build ${w.latest_build.build_number} (${w.latest_build.transition})`,
      ready && w.latest_build.transition === "start" ? ` — ready in ${seconds(ready - start)}` : ""),
    grid);
}

function logLine(l) {
  return h("div", { class: l.level === "error" ? "err" : "" },
           h("span", { class: "stage" }, `${new Date(l.time).toLocaleTimeString()} [${l.stage}] `),
           l.output);
}

// Streams a log (SSE: "log" events, then one "end") into `pre`; `endLine(data)` says how it
// ended and onEnd(data) is called. The stream closes when the view changes.
function followLog(url, pre, endLine, onEnd) {
  pre.replaceChildren();
  const es = new EventSource(url);
  es.addEventListener("log", (ev) => {
    pre.append(logLine(JSON.parse(ev.data)));
    pre.scrollTop = pre.scrollHeight;
  });
  es.addEventListener("end", (ev) => {
    const data = JSON.parse(ev.data);
    const [text, failed] = endLine(data);
    pre.append(h("div", { class: failed ? "err" : "stage" }, text));
    es.close();
    onEnd?.(data);
  });
  cleanups.push(() => es.close());
  return () => es.close();
}

function followBuild(buildId, pre, onEnd) {
  return followLog(`/api/v1/builds/${buildId}/logs?follow=true`, pre,
                   (job) => [`build ${job.status}${job.error ? ": " + job.error : ""}`,
                             job.status === "failed"], onEnd);
}

// An agent's startup log, live until its start ends (ready, start_error, start_timeout).
function followAgent(agent, pre, onEnd) {
  return followLog(`/api/v1/agents/${agent.id}/logs?follow=true`, pre,
                   (a) => [`agent ${a.lifecycle_state}`, a.lifecycle_state !== "ready"], onEnd);
}

const kLiveAgentLogs = 3;
const kSlowRefresh = 5000;

async function workspacePage(id) {
  let w = await api("GET", `/api/v1/workspaces/${encodeURIComponent(id)}`);
  const summary = h("div");
  const actions = h("div", { class: "toolbar", role: "group", "aria-label": "Actions" });
  const phasesBox = h("div");
  const agentsBox = h("section", { "aria-labelledby": "agents-title" });
  const log = h("pre", { class: "log", id: "build-log", tabindex: "0", "aria-label": "Build log",
                         "aria-live": "polite" });
  let following = null;

  const transition = (label, method, path, body) => {
    const b = h("button", { type: "button", disabled: session.read_only,
                            class: label === "Delete" ? "danger" : "" }, label);
    b.addEventListener("click", () => {
      if (label === "Delete" && !confirm(`Delete ${w.full_name} and its files?`)) return;
      act(b, `${label} queued`, async () => {
        await api(method, path, body);
        await refresh();
      });
    });
    return b;
  };

  // One row per agent of the latest build, kept across refreshes so that each startup log
  // streams into its own <pre>; only the status cells change.
  let agentRows = new Map(); // agent id -> {status, lifecycle}
  function renderAgents() {
    const ids = w.agents.map((a) => a.id).join(",");
    if (ids !== [...agentRows.keys()].join(",")) {
      agentRows = new Map();
      const rows = w.agents.map((a, i) => {
        const cells = { status: h("span"), lifecycle: h("span") };
        agentRows.set(a.id, cells);
        const pre = h("pre", { class: "log", id: `agent-log-${a.name}`, tabindex: "0",
                               "aria-label": `Startup log of ${a.name}` });
        // A browser holds at most six connections to one server: follow a few agents live,
        // read the rest once.
        if (i < kLiveAgentLogs) {
          followAgent(a, pre, () => refresh().catch(() => {}));
        } else {
          api("GET", `/api/v1/agents/${a.id}/logs`).then((l) => pre.replaceChildren(...l.map(logLine)),
                                                          () => {});
        }
        return [a.name, cells.status, cells.lifecycle, a.directory, pre];
      });
      agentsBox.replaceChildren(h("h2", { id: "agents-title" }, "Agents"),
        table(["Agent", "Connection", "Lifecycle", "Directory", "Startup log"], rows));
    }
    for (const a of w.agents) {
      const cells = agentRows.get(a.id);
      cells.status.replaceChildren(badge(a.status));
      cells.lifecycle.replaceChildren(badge(a.lifecycle_state));
    }
  }

  async function refresh() {
    w = await api("GET", `/api/v1/workspaces/${encodeURIComponent(id)}`);
    const b = w.latest_build;
    summary.replaceChildren(h("dl", { class: "facts" },
      h("dt", {}, "Status"), h("dd", { id: "ws-status-value" }, badge(w.status)),
      h("dt", {}, "Template"), h("dd", {}, h("a", { href: `#/templates/${w.template_name}` }, w.template_name)),
      h("dt", {}, "Owner"), h("dd", {}, w.owner_name),
      h("dt", {}, "Latest build"), h("dd", {}, `${b.transition} #${b.build_number}: `, badge(b.job.status),
        b.job.error ? h("span", { class: "error", id: "build-error" }, b.job.error) : null),
      h("dt", {}, "Stops at"), h("dd", {}, w.deadline ? when(w.deadline) : "—"),
      h("dt", {}, "Created"), h("dd", {}, when(w.created_at))));
    const base = `/api/v1/workspaces/${w.id}`;
    actions.replaceChildren(
      transition("Start", "POST", `${base}/start`, {}),
      transition("Stop", "POST", `${base}/stop`, {}),
      transition("Delete", "DELETE", base));
    phasesBox.replaceChildren(waterfall(w));
    // Checked and set before the next await: refreshes overlap (the timer, a build's end).
    if (following !== b.id) {
      following = b.id;
      followBuild(b.id, log, () => refresh().catch(() => {}));
    }
    renderAgents();
  }

  view(w.full_name, summary, actions, phasesBox,
       h("section", { "aria-labelledby": "log-title" }, h("h2", { id: "log-title" }, "Build log"), log),
       agentsBox);
  await refresh();
  // Builds and agents starting are followed live (above); this catches what has no stream,
  // such as an agent disconnecting or another user stopping the workspace.
  const timer = setInterval(() => refresh().catch(() => {}), kSlowRefresh);
  cleanups.push(() => clearInterval(timer));
}

// --- templates -------------------------------------------------------------------------------

async function templatesPage() {
  const list = await api("GET", "/api/v1/templates");
  view("Templates", table(["Template", "Description", "Isolation", "Updated"],
    list.map((t) => [h("a", { href: `#/templates/${t.name}` }, t.display_name || t.name),
                     t.description, t.isolation, when(t.updated_at)])));
}

async function templatePage(name) {
  const [t, versions] = await Promise.all([
    api("GET", `/api/v1/templates/${encodeURIComponent(name)}`),
    api("GET", `/api/v1/templates/${encodeURIComponent(name)}/versions`)]);
  view(t.display_name || t.name,
    h("p", {}, t.description),
    h("dl", { class: "facts" },
      h("dt", {}, "Version"), h("dd", {}, `${t.version.number} (${t.version.id})`),
      h("dt", {}, "Isolation"), h("dd", {}, t.isolation),
      h("dt", {}, "Time to live"), h("dd", {}, t.default_ttl_ms ? seconds(t.default_ttl_ms) : "none")),
    h("h2", {}, "Parameters"),
    table(["Name", "Type", "Default", "Mutable", "Description"],
      t.parameters.map((p) => [p.name, p.type, p.default ?? "—", p.mutable ? "yes" : "no",
                               p.description || ""])),
    h("h2", {}, "Presets"),
    table(["Preset", "Parameters", "Prebuilds"],
      t.presets.map((p) => [p.name, JSON.stringify(p.parameters || {}), String(p.prebuilds ?? 0)])),
    h("h2", {}, "Prebuild pools"),
    table(["Preset", "Desired", "Ready", "Building", "State", "Last error"],
      t.prebuilds.map((p) => [p.preset, String(p.desired), String(p.ready), String(p.building),
                              badge(p.state), p.last_error || "—"])),
    h("h2", {}, "Agents"),
    table(["Agent", "Chat", "External"],
      t.agents.map((a) => [a.name, a.chat ? "yes" : "no", a.external ? "yes" : "no"])),
    h("h2", {}, "Versions"),
    table(["Version", "Pushed", "By", "template.yaml"],
      versions.map((v) => [
        v.active ? h("span", {}, `${v.number} `, badge("active")) : String(v.number),
        when(v.created_at), v.created_by || "—",
        h("details", {}, h("summary", {}, `template.yaml of version ${v.number}`),
          h("pre", { class: "log", id: `version-${v.number}-source` }, v.source))]),
      "Every version pushed, newest first"));
}

// --- chats -----------------------------------------------------------------------------------

async function chatsPage() {
  const [chats, workspaces] = await Promise.all([api("GET", "/api/v1/chats"),
                                                 api("GET", "/api/v1/workspaces")]);
  const byId = new Map(workspaces.map((w) => [w.id, w]));
  view("Chats", table(["Chat", "Key", "Workspace", "Status", "Updated"],
    chats.map((c) => {
      const w = c.workspace_id ? byId.get(c.workspace_id) : null;
      return [h("a", { href: `#/chats/${c.id}` }, c.title || c.key || c.id.slice(0, 8)), c.key || "—",
              w ? h("a", { href: `#/workspaces/${w.id}` }, w.full_name) : "—",
              w ? badge(w.status) : "—", when(c.updated_at)];
    })));
}

// A chat as its screen shows it: the bound workspace and the bound build's log, live
// (GET /api/v1/chats/{id}/watch), and binding another workspace to it.
async function chatPage(id) {
  const chat = await api("GET", `/api/v1/chats/${encodeURIComponent(id)}`);
  const binding = h("div", { "aria-live": "polite" });
  const log = h("pre", { class: "log", id: "chat-log", tabindex: "0", "aria-label": "Bound build log" });
  const showBinding = async (c) => {
    const w = c.workspace_id
      ? await api("GET", `/api/v1/workspaces/${c.workspace_id}`).catch(() => null) : null;
    binding.replaceChildren(h("dl", { class: "facts" },
      h("dt", {}, "Key"), h("dd", {}, c.key || "—"),
      h("dt", {}, "Workspace"), h("dd", { id: "chat-workspace" },
        w ? h("a", { href: `#/workspaces/${w.id}` }, w.full_name) : "none yet"),
      h("dt", {}, "Status"), h("dd", {}, w ? badge(w.status) : "—"),
      h("dt", {}, "Updated"), h("dd", {}, when(c.updated_at))));
  };
  await showBinding(chat);
  let build = null;
  const es = new EventSource(`/api/v1/chats/${chat.id}/watch`);
  es.addEventListener("chat", (ev) => showBinding(JSON.parse(ev.data)).catch(() => {}));
  es.addEventListener("log", (ev) => {
    const l = JSON.parse(ev.data);
    if (l.build_id !== build) {
      build = l.build_id;
      log.replaceChildren();
    }
    log.append(logLine(l));
    log.scrollTop = log.scrollHeight;
  });
  cleanups.push(() => es.close());
  const ws = h("input", { id: "bind-workspace", required: true, placeholder: "name or owner/name" });
  const form = h("form", { class: "inline", "aria-label": "Bind a workspace" },
    field("Workspace", ws),
    h("button", { type: "submit", disabled: session.read_only }, "Bind to this chat"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(form.querySelector("button"), "Workspace bound", () =>
      api("POST", `/api/v1/chats/${chat.id}/workspace`, { workspace: ws.value.trim() }));
  });
  view(`Chat ${chat.title || chat.key || chat.id.slice(0, 8)}`, binding, form,
       h("section", { "aria-labelledby": "chat-log-title" },
         h("h2", { id: "chat-log-title" }, "Bound build log"), log));
}

// --- tokens and admin ------------------------------------------------------------------------

async function tokensPage(forUser = "") {
  const admin = session.user.site_admin;
  const tokens = await api("GET", "/api/v1/tokens" +
                                  (forUser ? `?user=${encodeURIComponent(forUser)}` : ""));
  const rows = tokens.map((t) => {
    const b = h("button", { type: "button", class: "danger", disabled: session.read_only,
                            "aria-label": `Revoke token ${t.name} (${t.id})` }, "Revoke");
    b.addEventListener("click", () => act(b, "Token revoked", async () => {
      await api("DELETE", `/api/v1/tokens/${t.id}`);
      await tokensPage(forUser);
      say("Token revoked");
    }));
    return [t.name, t.read_only ? "read-only" : "full", when(t.created_at), when(t.expires_at), b];
  });
  // Site admins look at anyone's tokens.
  const owner = h("input", { id: "tokens-of", value: forUser, placeholder: session.user.username });
  const ownerForm = admin ? h("form", { class: "inline", role: "search", "aria-label": "Tokens of a user" },
    field("Tokens of user", owner),
    h("button", { type: "submit" }, "Show")) : null;
  ownerForm?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    tokensPage(owner.value.trim()).catch((e) => main.prepend(errorBox(e)));
  });
  const name = h("input", { id: "token-name", placeholder: "cli" });
  const readOnly = h("input", { id: "token-ro", type: "checkbox" });
  const form = h("form", { class: "inline", "aria-label": "New token" },
    field("Token name", name),
    field("Read-only", readOnly),
    h("button", { type: "submit", class: "primary", disabled: session.read_only }, "Create token"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(form.querySelector("button"), "Token created", async () => {
      const t = await api("POST", "/api/v1/tokens", { name: name.value || "cli", read_only: readOnly.checked });
      await tokensPage(forUser);
      main.append(h("p", { role: "alert" }, "New token (shown once): ", h("code", {}, t.token)));
    });
  });
  view(forUser ? `Tokens of ${forUser}` : "Tokens", form, ownerForm,
       table(["Name", "Access", "Created", "Expires", ""], rows));
}

async function adminPage() {
  const orgs = await api("GET", "/api/v1/organizations");
  const quotas = await Promise.all(orgs.map((o) =>
    api("GET", `/api/v1/organizations/${o.name}/quotas`).catch(() => null)));
  const username = h("input", { id: "user-name", required: true });
  const email = h("input", { id: "user-email", type: "email" });
  const userForm = h("form", { class: "inline", "aria-label": "New user" },
    field("Username", username),
    field("Email", email),
    h("button", { type: "submit", class: "primary" }, "Create user"));
  userForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(userForm.querySelector("button"), "User created", async () => {
      await api("POST", "/api/v1/users", { username: username.value.trim(), email: email.value.trim() });
      await adminPage();
    });
  });
  const users = await api("GET", "/api/v1/users");
  const userRows = users.map((u) => {
    const op = u.suspended ? "unsuspend" : "suspend";
    const b = h("button", { type: "button", class: u.suspended ? "" : "danger",
                            "aria-label": `${u.suspended ? "Unsuspend" : "Suspend"} ${u.username}` },
                u.suspended ? "Unsuspend" : "Suspend");
    b.addEventListener("click", () => act(b, `User ${op}ed`, async () => {
      await api("POST", `/api/v1/users/${encodeURIComponent(u.username)}/${op}`);
      await adminPage();
    }));
    return [u.username, u.email || "—", u.site_admin ? "site admin" : "member",
            u.suspended ? badge("suspended") : badge("active"), when(u.created_at),
            u.id === session.user.id ? "—" : b];
  });
  const orgName = h("input", { id: "org-name", required: true });
  const orgForm = h("form", { class: "inline", "aria-label": "New organization" },
    field("Name", orgName),
    h("button", { type: "submit", class: "primary" }, "Create organization"));
  orgForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(orgForm.querySelector("button"), "Organization created", async () => {
      await api("POST", "/api/v1/organizations", { name: orgName.value.trim() });
      await adminPage();
    });
  });
  const quotaOrg = h("select", { id: "quota-org" }, orgs.map((o) => h("option", { value: o.name }, o.name)));
  const quotaUser = h("input", { id: "quota-user", placeholder: "every member" });
  const quotaBudget = h("input", { id: "quota-budget", type: "number", min: "0", placeholder: "none" });
  const quotaForm = h("form", { class: "inline", "aria-label": "Set a quota" },
    field("Organization", quotaOrg),
    field("User", quotaUser),
    field("Daily credits", quotaBudget),
    h("button", { type: "submit" }, "Set quota"));
  quotaForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(quotaForm.querySelector("button"), "Quota set", async () => {
      const body = { budget: quotaBudget.value === "" ? null : Number(quotaBudget.value) };
      if (quotaUser.value.trim()) body.user = quotaUser.value.trim();
      await api("PUT", `/api/v1/organizations/${quotaOrg.value}/quota`, body);
      await adminPage();
    });
  });
  view("Admin",
    h("h2", {}, "Users"), userForm,
    table(["User", "Email", "Role", "State", "Created", ""], userRows, "Every user"),
    h("h2", {}, "Organizations and quotas"), orgForm,
    table(["Organization", "Every member", "Users with their own budget"],
      orgs.map((o, i) => [o.name, quotas[i]?.every_member ?? "no quota",
        (quotas[i]?.users || []).map((u) => `${u.username}: ${u.budget}`).join(", ") || "—"])),
    quotaForm,
    h("h2", { id: "members-title" }, "Members"), await membersSection(orgs));
}

// An organization's members with their roles; organization admins change them here.
async function membersSection(orgs, chosen = orgs[0]?.name) {
  const box = h("section", { "aria-labelledby": "members-title", id: "members" });
  const render = async (org) => {
    const pick = h("select", { id: "members-org" },
      orgs.map((o) => h("option", { value: o.name, selected: o.name === org }, o.name)));
    pick.addEventListener("change", () => render(pick.value).catch((e) => box.replaceChildren(errorBox(e))));
    const base = `/api/v1/organizations/${encodeURIComponent(org)}/members`;
    let members;
    try {
      members = await api("GET", base);
    } catch (e) {
      box.replaceChildren(h("div", { class: "toolbar" }, field("Organization", pick)), errorBox(e));
      return;
    }
    const rows = members.map((m) => {
      const role = h("select", { "aria-label": `Role of ${m.username}` },
        ["member", "admin"].map((r) => h("option", { value: r, selected: r === m.role }, r)));
      role.addEventListener("change", () => act(role, `${m.username} is now ${role.value}`, async () => {
        await api("PUT", `${base}/${encodeURIComponent(m.username)}`, { role: role.value });
        await render(org);
      }));
      const remove = h("button", { type: "button", class: "danger",
                                   "aria-label": `Remove ${m.username} from ${org}` }, "Remove");
      remove.addEventListener("click", () => {
        if (!confirm(`Remove ${m.username} from ${org}?`)) return;
        act(remove, `${m.username} removed`, async () => {
          await api("DELETE", `${base}/${encodeURIComponent(m.username)}`);
          await render(org);
        });
      });
      return [m.username, role, m.suspended ? badge("suspended") : badge("active"), remove];
    });
    const who = h("input", { id: "member-name", required: true });
    const asRole = h("select", { id: "member-role" },
      ["member", "admin"].map((r) => h("option", { value: r }, r)));
    const add = h("form", { class: "inline", "aria-label": "Add a member" },
      field("Username", who), field("Role", asRole),
      h("button", { type: "submit" }, "Add member"));
    add.addEventListener("submit", (ev) => {
      ev.preventDefault();
      act(add.querySelector("button"), "Member added", async () => {
        await api("PUT", `${base}/${encodeURIComponent(who.value.trim())}`, { role: asRole.value });
        await render(org);
      });
    });
    box.replaceChildren(h("div", { class: "toolbar" }, field("Organization", pick)), add,
      table(["Member", "Role", "State", ""], rows, `Members of ${org}`));
  };
  if (chosen) await render(chosen);
  return box;
}

// --- routing ---------------------------------------------------------------------------------

const routes = [
  [/^#\/signin$/, signinPage],
  [/^#\/workspaces$/, workspacesPage],
  [/^#\/workspaces\/([^/]+)$/, workspacePage],
  [/^#\/templates$/, templatesPage],
  [/^#\/templates\/([^/]+)$/, templatePage],
  [/^#\/chats$/, chatsPage],
  [/^#\/chats\/([^/]+)$/, chatPage],
  [/^#\/tokens$/, tokensPage],
  [/^#\/admin$/, adminPage],
];

async function route() {
  for (const c of cleanups) c();
  cleanups = [];
  const hash = location.hash || "#/workspaces";
  if (!session && hash !== "#/signin") {
    try {
      session = await api("GET", "/api/v1/sessions/current");
    } catch {
      location.hash = "#/signin";
      return;
    }
    showChrome();
  }
  for (const a of document.querySelectorAll("nav a")) {
    if (hash.startsWith(a.getAttribute("href"))) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  for (const [re, page] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    try {
      await page(...m.slice(1).map(decodeURIComponent));
    } catch (e) {
      view("Something went wrong", errorBox(e));
    }
    return;
  }
  view("Not found", h("p", {}, "No such page. ", h("a", { href: "#/workspaces" }, "Workspaces")));
}

window.addEventListener("hashchange", route);
route();
