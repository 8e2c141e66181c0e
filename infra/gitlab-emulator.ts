// A GitLab emulator over real HTTP for the local dev start and for integration tests.
// It implements only what the sign-in service uses (OAuth authorization code + PKCE,
// /api/v4/user, /api/v4/groups) and is deliberately stricter than GitLab where being
// strict catches client mistakes (PKCE and scope are mandatory, parameters may not repeat).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, STATUS_CODES } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface EmulatorUser {
  id: number;
  username: string;
  name: string;
  email: string;
  /** Defaults to "active". */
  state?: string;
  /** Full paths of the groups the user is a DIRECT member of. */
  groups?: string[];
}

export interface EmulatorApplication {
  applicationId: string;
  secret: string;
  redirectURIs: string[];
}

export type EmulatorRoute = "authorize" | "token" | "user" | "groups";

export interface EmulatorFault {
  /** Respond with this status; the body is JSON {message} unless `body` is given. */
  status?: number;
  /** Raw body to send instead of the normal one, e.g. malformed JSON. */
  body?: string;
  /** Extra response headers, e.g. {"Retry-After": "1"}. */
  headers?: Record<string, string>;
  /** Wait this long before responding; the response is normal unless status/body are given. */
  delayMs?: number;
  /**
   * Respond normally but delete this top-level field from the JSON object (user, token), from
   * every item (groups), or this query parameter from the redirect Location (authorize).
   */
  dropField?: string;
  /** Groups only: apply the fault only to this 1-based page number. */
  onPage?: number;
  /** Apply at most this many times, then clear; default until cleared. */
  times?: number;
}

export interface StartEmulatorOptions {
  /** Default 0 = a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  application: EmulatorApplication;
  users?: EmulatorUser[];
  /** Full paths of all existing groups; parent groups are implied. */
  groups?: string[];
  /** Send x-total, x-total-pages and rel="last"; default true. */
  paginationTotals?: boolean;
}

export interface TokenRequestRecord {
  clientAuth: "basic" | "body" | "none";
  /** The form parameters, without client_secret. */
  params: Record<string, string>;
}

export interface GitLabEmulator {
  /** e.g. http://127.0.0.1:54321, without a trailing slash. */
  url: string;
  close(): Promise<void>;
  /** Adds or replaces by id, so a username change keeps the id. */
  upsertUser(user: EmulatorUser): void;
  setUserGroups(userId: number, fullPaths: string[]): void;
  addGroups(fullPaths: string[]): void;
  setFault(route: EmulatorRoute, fault: EmulatorFault | null): void;
  clearFaults(): void;
  setPaginationTotals(enabled: boolean): void;
  /** Requests received per route since start or the last reset. */
  requestCounts(): Record<EmulatorRoute, number>;
  resetRequestCounts(): void;
  /** The last POST /oauth/token, for tests asserting what the client sent; never the secret. */
  lastTokenRequest(): TokenRequestRecord | null;
}

interface AuthorizationCode {
  userId: number;
  clientId: string;
  redirectURI: string;
  codeChallenge: string;
  scopes: string[];
  expiresAt: number;
  used: boolean;
}

interface AccessToken {
  userId: number;
  scopes: string[];
  expiresAt: number;
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  /** Serialized as JSON when `body` is absent. */
  json?: unknown;
  body?: string;
}

interface EmulatorState {
  url: string;
  application: EmulatorApplication;
  users: Map<number, EmulatorUser>;
  /** Group full path → stable numeric id. */
  groups: Map<string, number>;
  codes: Map<string, AuthorizationCode>;
  tokens: Map<string, AccessToken>;
  faults: Map<EmulatorRoute, EmulatorFault>;
  paginationTotals: boolean;
  counts: Record<EmulatorRoute, number>;
  lastTokenRequest: TokenRequestRecord | null;
  /** Aborted on close so delayed responses do not hold the server open. */
  closing: AbortController;
}

const CODE_TTL_MS = 10 * 60 * 1000;
const TOKEN_TTL_SECONDS = 7200;
const MAX_FORM_BYTES = 64 * 1024;
const KNOWN_SCOPES = new Set(["read_user", "read_api", "api", "openid", "profile", "email"]);
const USER_SCOPES = ["read_user", "read_api", "api"];
const GROUP_SCOPES = ["read_api", "api"];
// GitLab's access levels: guest, planner, reporter, developer, maintainer, owner.
const ACCESS_LEVELS = new Set([10, 15, 20, 30, 40, 50]);
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const INVALID_GRANT_DESCRIPTION =
  "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
const INVALID_CLIENT_DESCRIPTION =
  "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.";

export async function startGitLabEmulator(options: StartEmulatorOptions): Promise<GitLabEmulator> {
  validateApplication(options.application);
  const state: EmulatorState = {
    url: "",
    application: structuredClone(options.application),
    users: new Map(),
    groups: new Map(),
    codes: new Map(),
    tokens: new Map(),
    faults: new Map(),
    paginationTotals: options.paginationTotals ?? true,
    counts: emptyCounts(),
    lastTokenRequest: null,
    closing: new AbortController(),
  };
  addGroupPaths(state, options.groups ?? []);
  for (const user of options.users ?? []) {
    upsertUser(state, user);
  }

  const server = createServer((req, res) => {
    handleRequest(state, req, res).catch(() => {
      // Never crash the emulator: a bug here must surface as a 500 to the client under test.
      sendFallbackError(res);
    });
  });
  const host = options.host ?? "127.0.0.1";
  await listen(server, options.port ?? 0, host);
  state.url = `http://${urlHost(host)}:${(server.address() as AddressInfo).port}`;

  return {
    url: state.url,
    close: () => closeServer(state, server),
    upsertUser: (user) => upsertUser(state, user),
    setUserGroups: (userId, fullPaths) => setUserGroups(state, userId, fullPaths),
    addGroups: (fullPaths) => addGroupPaths(state, fullPaths),
    setFault: (route, fault) => setFault(state, route, fault),
    clearFaults: () => state.faults.clear(),
    setPaginationTotals: (enabled) => {
      state.paginationTotals = enabled;
    },
    requestCounts: () => ({ ...state.counts }),
    resetRequestCounts: () => {
      state.counts = emptyCounts();
    },
    lastTokenRequest: () => structuredClone(state.lastTokenRequest),
  };
}

function emptyCounts(): Record<EmulatorRoute, number> {
  return { authorize: 0, token: 0, user: 0, groups: 0 };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function urlHost(host: string): string {
  // A wildcard bind address is not something a browser or fetch can connect to.
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

function closeServer(state: EmulatorState, server: Server): Promise<void> {
  state.closing.abort();
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Keep-alive connections (fetch pools them) would otherwise keep close() pending.
    server.closeAllConnections();
  });
}

// ---------------------------------------------------------------------------------------------
// Data management

function validateApplication(application: EmulatorApplication): void {
  if (!application.applicationId || !application.secret) {
    throw new TypeError("application needs an applicationId and a secret");
  }
  for (const redirectURI of application.redirectURIs) {
    new URL(redirectURI); // throws on a malformed URI, which would only fail later and obscurely
  }
}

function upsertUser(state: EmulatorState, user: EmulatorUser): void {
  if (!Number.isSafeInteger(user.id) || user.id <= 0) {
    throw new TypeError(`user id must be a positive integer, got ${user.id}`);
  }
  for (const other of state.users.values()) {
    if (other.id !== user.id && other.username.toLowerCase() === user.username.toLowerCase()) {
      throw new TypeError(`username ${user.username} is already taken by user ${other.id}`);
    }
  }
  const groups = user.groups ?? [];
  addGroupPaths(state, groups);
  state.users.set(user.id, { ...structuredClone(user), groups: [...new Set(groups)] });
}

function setUserGroups(state: EmulatorState, userId: number, fullPaths: string[]): void {
  const user = state.users.get(userId);
  if (!user) {
    throw new TypeError(`no user with id ${userId}`);
  }
  addGroupPaths(state, fullPaths);
  user.groups = [...new Set(fullPaths)];
}

function addGroupPaths(state: EmulatorState, fullPaths: string[]): void {
  for (const fullPath of fullPaths) {
    const segments = fullPath.split("/");
    if (segments.some((segment) => !/^[A-Za-z0-9_.-]+$/.test(segment))) {
      throw new TypeError(`invalid group full path: ${JSON.stringify(fullPath)}`);
    }
    for (let depth = 1; depth <= segments.length; depth++) {
      addGroup(state, segments.slice(0, depth).join("/"));
    }
  }
}

function addGroup(state: EmulatorState, fullPath: string): void {
  if (state.groups.has(fullPath)) return;
  // Derived from the path so ids survive emulator restarts, like a real instance's ids do;
  // the service under test may have stored them.
  let id = (createHash("sha256").update(fullPath).digest().readUInt32BE(0) % 900_000_000) + 100_000_000;
  const taken = new Set(state.groups.values());
  while (taken.has(id)) id++;
  state.groups.set(fullPath, id);
}

function setFault(state: EmulatorState, route: EmulatorRoute, fault: EmulatorFault | null): void {
  if (fault === null) {
    state.faults.delete(route);
    return;
  }
  if (fault.onPage !== undefined && route !== "groups") {
    throw new TypeError("onPage only applies to the groups route");
  }
  if (fault.times !== undefined && (!Number.isInteger(fault.times) || fault.times < 1)) {
    throw new TypeError("times must be a positive integer");
  }
  if (fault.status !== undefined && (!Number.isInteger(fault.status) || fault.status < 100 || fault.status > 599)) {
    throw new TypeError("status must be an HTTP status code");
  }
  state.faults.set(route, structuredClone(fault));
}

// ---------------------------------------------------------------------------------------------
// Request dispatch and faults

async function handleRequest(state: EmulatorState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestURL = new URL(req.url ?? "/", state.url);
  const route = matchRoute(req.method ?? "", requestURL.pathname);
  if (route === null) {
    req.resume();
    send(res, jsonReply(404, { message: "404 Not Found" }));
    return;
  }
  state.counts[route]++;

  const fault = takeFault(state, route, requestURL);
  if (fault?.delayMs) {
    try {
      await sleep(fault.delayMs, undefined, { signal: state.closing.signal });
    } catch {
      res.destroy(); // the emulator is closing
      return;
    }
  }
  if (fault && (fault.status !== undefined || fault.body !== undefined)) {
    req.resume();
    send(res, faultReply(fault));
    return;
  }

  const reply = await routeReply(state, route, req, requestURL);
  if (fault) applyFault(fault, reply);
  send(res, reply);
}

function matchRoute(method: string, pathname: string): EmulatorRoute | null {
  if (method === "GET" && pathname === "/oauth/authorize") return "authorize";
  if (method === "POST" && pathname === "/oauth/token") return "token";
  if (method === "GET" && pathname === "/api/v4/user") return "user";
  if (method === "GET" && pathname === "/api/v4/groups") return "groups";
  return null;
}

function routeReply(
  state: EmulatorState,
  route: EmulatorRoute,
  req: IncomingMessage,
  requestURL: URL,
): Promise<Reply> | Reply {
  switch (route) {
    case "authorize":
      req.resume();
      return authorize(state, requestURL.searchParams);
    case "token":
      return token(state, req);
    case "user":
      req.resume();
      return currentUser(state, req);
    case "groups":
      req.resume();
      return groups(state, req, requestURL);
  }
}

/** Returns the fault to apply to this request, consuming one of its `times`. */
function takeFault(state: EmulatorState, route: EmulatorRoute, requestURL: URL): EmulatorFault | null {
  const fault = state.faults.get(route);
  if (!fault) return null;
  if (fault.onPage !== undefined && requestedPage(requestURL) !== fault.onPage) return null;
  if (fault.times !== undefined) {
    fault.times--;
    if (fault.times <= 0) state.faults.delete(route);
  }
  return fault;
}

function requestedPage(requestURL: URL): number {
  const page = Number.parseInt(requestURL.searchParams.get("page") ?? "1", 10);
  return Number.isNaN(page) || page < 1 ? 1 : page;
}

function faultReply(fault: EmulatorFault): Reply {
  const status = fault.status ?? 200;
  const reply: Reply =
    fault.body !== undefined
      ? { status, headers: { "Content-Type": "application/json" }, body: fault.body }
      : jsonReply(status, { message: `${status} ${STATUS_CODES[status] ?? "Error"}` });
  Object.assign(reply.headers, fault.headers);
  return reply;
}

function applyFault(fault: EmulatorFault, reply: Reply): void {
  Object.assign(reply.headers, fault.headers);
  if (fault.dropField === undefined) return;
  const field = fault.dropField;
  const location = reply.headers["Location"];
  if (location !== undefined) {
    const target = new URL(location);
    target.searchParams.delete(field);
    reply.headers["Location"] = target.toString();
  } else if (reply.status === 200 && Array.isArray(reply.json)) {
    for (const item of reply.json) deleteField(item, field);
  } else if (reply.status === 200) {
    deleteField(reply.json, field);
  }
}

function deleteField(value: unknown, field: string): void {
  if (typeof value === "object" && value !== null) {
    delete (value as Record<string, unknown>)[field];
  }
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  const body = reply.body ?? (reply.json === undefined ? "" : JSON.stringify(reply.json));
  res.writeHead(reply.status, { ...reply.headers, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function sendFallbackError(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, jsonReply(500, { message: "500 Internal Server Error" }));
}

function jsonReply(status: number, json: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { "Content-Type": "application/json", ...headers }, json };
}

// ---------------------------------------------------------------------------------------------
// GET /oauth/authorize

function authorize(state: EmulatorState, query: URLSearchParams): Reply {
  const { application } = state;
  const clientIds = query.getAll("client_id");
  if (clientIds.length !== 1 || clientIds[0] !== application.applicationId) {
    return htmlError(400, "Client authentication failed due to unknown client (client_id).");
  }
  const redirectURIs = query.getAll("redirect_uri");
  const redirectURI = redirectURIs[0];
  // Exact string match: GitLab does not normalize, and an open redirect must be impossible.
  if (redirectURIs.length !== 1 || redirectURI === undefined || !application.redirectURIs.includes(redirectURI)) {
    return htmlError(400, "The redirect URI included is not valid (redirect_uri).");
  }

  const stateParam = query.get("state");
  const problem = authorizeProblem(query);
  if (problem !== null) {
    return errorRedirect(redirectURI, "invalid_request", problem, stateParam);
  }

  if (query.get("deny") === "1") {
    return errorRedirect(
      redirectURI,
      "access_denied",
      "The resource owner or authorization server denied the request.",
      stateParam,
    );
  }
  const login = query.get("login");
  if (login !== null) {
    const user = findUserByUsername(state, login);
    if (!user) return htmlError(400, `No user with username ${login}.`);
    const code = randomToken();
    pruneExpired(state);
    state.codes.set(code, {
      userId: user.id,
      clientId: application.applicationId,
      redirectURI,
      codeChallenge: query.get("code_challenge") ?? "",
      scopes: parseScopes(query.get("scope") ?? ""),
      expiresAt: Date.now() + CODE_TTL_MS,
      used: false,
    });
    const target = new URL(redirectURI);
    target.searchParams.set("code", code);
    if (stateParam !== null) target.searchParams.set("state", stateParam);
    return redirect(target.toString());
  }
  return signInPage(state, query);
}

/** Describes the first problem with an otherwise trustworthy authorize request, or null. */
function authorizeProblem(query: URLSearchParams): string | null {
  for (const name of ["response_type", "state", "scope", "code_challenge", "code_challenge_method", "login"]) {
    if (query.getAll(name).length > 1) return `The request includes the parameter ${name} more than once.`;
  }
  if (query.get("response_type") !== "code") {
    return "The authorization server does not support this response type (response_type must be code).";
  }
  if (query.get("code_challenge_method") !== "S256") {
    return "Code challenge method must be S256 (code_challenge_method).";
  }
  if (!CODE_CHALLENGE.test(query.get("code_challenge") ?? "")) {
    return "Code challenge is required and must be 43 base64url characters (code_challenge).";
  }
  const scope = query.get("scope");
  if (scope === null || scope === "") {
    return "The requested scope is missing (scope).";
  }
  const unknown = scope.split(" ").filter((name) => !KNOWN_SCOPES.has(name));
  if (unknown.length > 0) {
    return `The requested scope is invalid, unknown, or malformed: ${JSON.stringify(unknown.join(" "))}.`;
  }
  return null;
}

function parseScopes(scope: string): string[] {
  return [...new Set(scope.split(" ").filter((name) => name !== ""))];
}

function findUserByUsername(state: EmulatorState, username: string): EmulatorUser | undefined {
  // GitLab usernames are case-insensitive.
  const wanted = username.toLowerCase();
  return [...state.users.values()].find((user) => user.username.toLowerCase() === wanted);
}

function errorRedirect(redirectURI: string, error: string, description: string, stateParam: string | null): Reply {
  const target = new URL(redirectURI);
  target.searchParams.set("error", error);
  target.searchParams.set("error_description", description);
  if (stateParam !== null) target.searchParams.set("state", stateParam);
  return redirect(target.toString());
}

function redirect(location: string): Reply {
  return { status: 302, headers: { Location: location, "Cache-Control": "no-store" }, body: "" };
}

function signInPage(state: EmulatorState, query: URLSearchParams): Reply {
  const users = [...state.users.values()].sort((a, b) => a.username.localeCompare(b.username));
  const items = users.map((user) => {
    const status = (user.state ?? "active") === "active" ? "" : ` <em>(${escapeHTML(user.state ?? "")})</em>`;
    return `<li><a href="${escapeHTML(authorizeLink(query, "login", user.username))}">Sign in as ${escapeHTML(user.username)}</a> <span>${escapeHTML(user.name)}</span>${status}</li>`;
  });
  const body = `
<h1>Sign in to GitLab (emulator)</h1>
<p>The application <strong>${escapeHTML(state.application.applicationId)}</strong> requests access with the scopes <code>${escapeHTML(query.get("scope") ?? "")}</code>.</p>
<nav aria-label="Users">
<ul>
${items.length > 0 ? items.join("\n") : "<li>No users are configured in the emulator.</li>"}
</ul>
</nav>
<p><a href="${escapeHTML(authorizeLink(query, "deny", "1"))}">Deny access</a></p>`;
  return htmlPage(200, "Sign in to GitLab (emulator)", body);
}

function authorizeLink(query: URLSearchParams, name: string, value: string): string {
  const params = new URLSearchParams(query);
  params.delete("login");
  params.delete("deny");
  params.set(name, value);
  return `/oauth/authorize?${params.toString()}`;
}

function htmlError(status: number, message: string): Reply {
  return htmlPage(status, "GitLab (emulator): sign-in error", `
<h1>An error has occurred</h1>
<p role="alert">${escapeHTML(message)}</p>`);
}

function htmlPage(status: number, title: string, content: string): Reply {
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHTML(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}li{margin:.5rem 0}a{color:#1f5fbf}</style>
</head>
<body>
<main>${content}
</main>
</body>
</html>
`;
  return {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": "no-store",
    },
    body,
  };
}

function escapeHTML(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

// ---------------------------------------------------------------------------------------------
// POST /oauth/token

function oauthError(status: number, error: string, description: string, headers: Record<string, string> = {}): Reply {
  return jsonReply(status, { error, error_description: description }, { "Cache-Control": "no-store", ...headers });
}

async function token(state: EmulatorState, req: IncomingMessage): Promise<Reply> {
  const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (contentType !== "application/x-www-form-urlencoded") {
    req.resume();
    return oauthError(400, "invalid_request", "The request body must be application/x-www-form-urlencoded.");
  }
  const raw = await readBody(req, MAX_FORM_BYTES);
  if (raw === null) {
    return oauthError(413, "invalid_request", "The request body is too large.");
  }
  const form = parseForm(raw);
  if (form === null) {
    return oauthError(400, "invalid_request", "The request body is malformed or repeats a parameter.");
  }
  const basic = parseBasicAuthorization(req.headers.authorization);
  if (basic === "malformed") {
    return oauthError(400, "invalid_request", "The Authorization header is malformed.");
  }

  const { client_secret: _secret, ...loggable } = form;
  state.lastTokenRequest = {
    clientAuth: basic !== null ? "basic" : form.client_secret !== undefined ? "body" : "none",
    params: loggable,
  };

  const client = authenticateClient(state.application, basic, form);
  if (client !== null) return client;

  if (form.grant_type !== "authorization_code") {
    return oauthError(400, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.");
  }
  return exchangeCode(state, form);
}

/** Returns an error reply when the client is not authenticated, null when it is. */
function authenticateClient(
  application: EmulatorApplication,
  basic: { id: string; secret: string } | null,
  form: Record<string, string>,
): Reply | null {
  const unauthorized = oauthError(401, "invalid_client", INVALID_CLIENT_DESCRIPTION, {
    "WWW-Authenticate": 'Basic realm="Doorkeeper"',
  });
  let id: string | undefined;
  let secret: string | undefined;
  if (basic !== null) {
    // RFC 6749 2.3: a client must not use more than one authentication method.
    if (form.client_secret !== undefined) return unauthorized;
    if (form.client_id !== undefined && form.client_id !== basic.id) return unauthorized;
    ({ id, secret } = basic);
  } else {
    id = form.client_id;
    secret = form.client_secret;
  }
  if (id !== application.applicationId || secret === undefined || !secretsEqual(secret, application.secret)) {
    return unauthorized;
  }
  return null;
}

function exchangeCode(state: EmulatorState, form: Record<string, string>): Reply {
  const invalidGrant = (detail: string): Reply => oauthError(400, "invalid_grant", `${INVALID_GRANT_DESCRIPTION} (${detail})`);
  const code = state.codes.get(form.code ?? "");
  if (!code) return invalidGrant("unknown code");
  if (code.used) return invalidGrant("code already used");
  if (code.expiresAt <= Date.now()) return invalidGrant("code expired");
  if (code.clientId !== state.application.applicationId) return invalidGrant("code issued to another client");
  if (form.redirect_uri !== code.redirectURI) return invalidGrant("redirect_uri differs from the authorization request");
  const verifier = form.code_verifier;
  if (verifier === undefined || !CODE_VERIFIER.test(verifier)) {
    return invalidGrant("code_verifier missing or not 43-128 characters of [A-Za-z0-9-._~]");
  }
  if (createHash("sha256").update(verifier).digest("base64url") !== code.codeChallenge) {
    return invalidGrant("code_verifier does not match the code_challenge");
  }
  // Like Doorkeeper, a failed exchange leaves the code usable; only success consumes it.
  code.used = true;

  const accessToken = randomToken();
  state.tokens.set(accessToken, {
    userId: code.userId,
    scopes: code.scopes,
    expiresAt: Date.now() + TOKEN_TTL_SECONDS * 1000,
  });
  return jsonReply(
    200,
    {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: TOKEN_TTL_SECONDS,
      refresh_token: randomToken(),
      scope: code.scopes.join(" "),
      created_at: Math.floor(Date.now() / 1000),
    },
    { "Cache-Control": "no-store", Pragma: "no-cache" },
  );
}

/** Reads the body as text, or returns null when it exceeds the limit. */
async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) {
      req.resume();
      return null;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Parses a form body; null when it is malformed or repeats a parameter. */
function parseForm(raw: string): Record<string, string> | null {
  // URLSearchParams silently keeps malformed percent-escapes; a real server rejects them.
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return null;
  const form: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(raw)) {
    if (Object.hasOwn(form, name)) return null;
    form[name] = value;
  }
  return form;
}

function parseBasicAuthorization(header: string | undefined): { id: string; secret: string } | "malformed" | null {
  if (header === undefined) return null;
  const match = /^Basic +(\S+)$/i.exec(header.trim());
  if (!match) {
    // A Bearer or other scheme is not client authentication; the body may still carry it.
    return /^Basic\b/i.test(header.trim()) ? "malformed" : null;
  }
  const encoded = match[1] ?? "";
  if (encoded.length % 4 !== 0 || !BASE64.test(encoded)) return "malformed";
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return "malformed";
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

function secretsEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

function pruneExpired(state: EmulatorState): void {
  const now = Date.now();
  for (const [code, grant] of state.codes) {
    if (grant.expiresAt <= now) state.codes.delete(code);
  }
  for (const [accessToken, grant] of state.tokens) {
    if (grant.expiresAt <= now) state.tokens.delete(accessToken);
  }
}

// ---------------------------------------------------------------------------------------------
// API: bearer tokens, /api/v4/user, /api/v4/groups

/** Returns the token's user, or the error reply GitLab would send. */
function authenticateBearer(state: EmulatorState, req: IncomingMessage, scopes: string[]): EmulatorUser | Reply {
  const match = /^Bearer +(\S+)$/i.exec((req.headers.authorization ?? "").trim());
  const grant = match ? state.tokens.get(match[1] ?? "") : undefined;
  const user = grant && grant.expiresAt > Date.now() ? state.users.get(grant.userId) : undefined;
  if (!grant || !user) {
    const headers: Record<string, string> = match
      ? { "WWW-Authenticate": 'Bearer realm="Protected by OAuth 2", error="invalid_token"' }
      : {};
    return jsonReply(401, { message: "401 Unauthorized" }, headers);
  }
  if (!scopes.some((scope) => grant.scopes.includes(scope))) {
    return jsonReply(
      403,
      {
        error: "insufficient_scope",
        error_description: "The request requires higher privileges than provided by the access token.",
        scope: scopes.join(" "),
      },
      { "WWW-Authenticate": `Bearer realm="Protected by OAuth 2", error="insufficient_scope", scope="${scopes.join(" ")}"` },
    );
  }
  return user;
}

function isReply(value: EmulatorUser | Reply): value is Reply {
  return "status" in value && "headers" in value;
}

function currentUser(state: EmulatorState, req: IncomingMessage): Reply {
  const user = authenticateBearer(state, req, USER_SCOPES);
  if (isReply(user)) return user;
  return jsonReply(200, {
    id: user.id,
    username: user.username,
    name: user.name,
    email: user.email,
    state: user.state ?? "active",
    avatar_url: `https://secure.gravatar.com/avatar/${createHash("sha256").update(user.email.trim().toLowerCase()).digest("hex")}?s=80&d=identicon`,
    web_url: `${state.url}/${user.username}`,
    created_at: new Date(Date.UTC(2020, 0, 1) + user.id * 3_600_000).toISOString(),
  });
}

function groups(state: EmulatorState, req: IncomingMessage, requestURL: URL): Reply {
  const user = authenticateBearer(state, req, GROUP_SCOPES);
  if (isReply(user)) return user;
  const query = requestURL.searchParams;

  const page = integerParam(query, "page", 1);
  const perPageParam = integerParam(query, "per_page", 20);
  const minAccessLevel = query.has("min_access_level") ? integerParam(query, "min_access_level", 0) : undefined;
  if (page === null) return jsonReply(400, { error: "page is invalid" });
  if (perPageParam === null) return jsonReply(400, { error: "per_page is invalid" });
  if (minAccessLevel === null || (minAccessLevel !== undefined && !ACCESS_LEVELS.has(minAccessLevel))) {
    return jsonReply(400, { error: "min_access_level does not have a valid value" });
  }

  // Without min_access_level GitLab lists every group the user can see, not their memberships.
  // Memberships carry no access level here, so any valid min_access_level matches them all.
  const paths = minAccessLevel === undefined ? [...state.groups.keys()] : (user.groups ?? []);
  const all = [...new Set(paths)].sort().map((fullPath) => groupJSON(state, fullPath));

  const perPage = Math.min(Math.max(perPageParam, 1), 100);
  const currentPage = Math.max(page, 1);
  const totalPages = Math.max(1, Math.ceil(all.length / perPage));
  const items = all.slice((currentPage - 1) * perPage, currentPage * perPage);
  const nextPage = currentPage < totalPages ? currentPage + 1 : null;
  const prevPage = currentPage > 1 ? currentPage - 1 : null;

  const pageLink = (target: number, rel: string): string => {
    const params = new URLSearchParams(query);
    params.set("page", String(target));
    return `<${state.url}/api/v4/groups?${params.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (prevPage !== null) links.push(pageLink(prevPage, "prev"));
  if (nextPage !== null) links.push(pageLink(nextPage, "next"));
  links.push(pageLink(1, "first"));
  const headers: Record<string, string> = {
    "x-page": String(currentPage),
    "x-per-page": String(perPage),
    "x-next-page": nextPage === null ? "" : String(nextPage),
    "x-prev-page": prevPage === null ? "" : String(prevPage),
  };
  // GitLab omits totals for large collections; clients must paginate by x-next-page / rel="next".
  if (state.paginationTotals) {
    links.push(pageLink(totalPages, "last"));
    headers["x-total"] = String(all.length);
    headers["x-total-pages"] = String(totalPages);
  }
  headers["Link"] = links.join(", ");
  return jsonReply(200, items, headers);
}

/** Parses an optional integer query parameter; null when present but not an integer. */
function integerParam(query: URLSearchParams, name: string, fallback: number): number | null {
  const values = query.getAll(name);
  if (values.length === 0) return fallback;
  const value = values[values.length - 1] ?? "";
  return /^-?\d{1,9}$/.test(value.trim()) ? Number.parseInt(value, 10) : null;
}

function groupJSON(state: EmulatorState, fullPath: string): Record<string, unknown> {
  const segments = fullPath.split("/");
  const parentPath = segments.slice(0, -1).join("/");
  const names = segments.map(groupName);
  return {
    id: state.groups.get(fullPath),
    name: names[names.length - 1],
    path: segments[segments.length - 1],
    full_path: fullPath,
    full_name: names.join(" / "),
    web_url: `${state.url}/groups/${fullPath}`,
    parent_id: parentPath === "" ? null : (state.groups.get(parentPath) ?? null),
  };
}

/** A display name that differs from the path, so clients mixing up name and path get caught. */
function groupName(path: string): string {
  const words = path.split(/[-_.]/).filter((word) => word !== "");
  return words.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join(" ");
}
