// Hostile input: every route fuzzed with generated paths, queries, headers, cookies and bodies;
// oversized bodies; tampered, replayed and expired cookies; open redirects; CSRF; privilege
// escalation. Run counts are bounded so the file stays fast; a failure prints its seed.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { safeReturnTo } from "../lib/return-to.js";
import { assertProperty, assertSecurityHeaders, createGroup, prepareCallback, signedInAdmin } from "./support/hardening.js";
import { applicationSecret, startStack } from "./support/stack.js";
import type { Browser } from "./support/browser.js";
import type { Stack } from "./support/stack.js";

interface RouteSpec {
  method: string;
  path: string;
  kind: "api" | "page";
}

let stack: Stack;
let admin: Browser;
let member: Browser;
let adminToken: string;
let groupId: string;
let fuzzGroupId: string;
let routes: RouteSpec[];
const marker = "<xss-marker>";
// Runs per route in `npm test`; FUZZ_RUNS=500 for a deeper search.
const runsPerRoute = Number(process.env.FUZZ_RUNS ?? 15);

before(async () => {
  stack = await startStack({
    users: [
      { id: 1, username: "root", name: "Root", email: "root@example.com" },
      { id: 2, username: "member", name: "Member", email: "member@example.com" },
      { id: 3, username: "other-admin", name: "Other", email: "other@example.com" },
    ],
    env: { INITIAL_ADMINS: "root,other-admin" },
  });
  // The route tables, loaded after the stack set the environment (configuration is module-scoped).
  routes = (await Promise.all([import("../functions/auth.js"), import("../functions/settings.js"), import("../functions/provisioning.js")])).flatMap(
    (module) => module.routes.map(({ method, path, kind }) => ({ method, path, kind })),
  );
  admin = await signedInAdmin(stack);
  member = stack.browser();
  assert.equal((await member.signIn("member")).response.status, 302);
  const token = await admin.json("/api/tokens", { method: "POST", body: JSON.stringify({ name: "fuzz" }) });
  assert.equal(token.status, 201);
  adminToken = token.body.token;
  groupId = await createGroup(admin, "fuzz/admins", ["admin"]);
  fuzzGroupId = await createGroup(admin, "fuzz/anything");
  assert.equal((await admin.json("/api/users", { method: "POST", body: JSON.stringify({ login: "target", email: "target@example.com" }) })).status, 201);
});
after(() => stack.close());

const stateChanging = (route: RouteSpec): boolean => route.method !== "GET";

// ---- What every response must look like, whatever was sent.

const internals = /\n\s+at |node:internal|file:\/\/|node_modules|\.ts:\d+|\.js:\d+|Exception|DynamoDB|TransactWrite|undefined is not|Cannot read prop/;

async function checkResponse(response: Response, what: string): Promise<{ status: number; body: string }> {
  const body = await response.text();
  const context = `${what} → ${response.status} ${body.slice(0, 300)}`;
  assert.ok(response.status < 500, `server error: ${context}`);
  assert.doesNotMatch(body, internals, `internals leaked: ${context}`);
  assert.ok(!body.includes(applicationSecret), `secret leaked: ${context}`);
  assertSecurityHeaders(response, context);
  assert.equal(response.headers.get("strict-transport-security"), null, `HSTS over plain http: ${context}`);
  const type = response.headers.get("content-type") ?? "";
  if (new URL(response.url).pathname.startsWith("/assets/")) {
    assert.ok(response.status === 200 || response.status === 304, context);
    assert.match(type, /^text\/javascript/, context);
    return { status: response.status, body };
  }
  if (body !== "") {
    assert.match(type, /^(application\/json|application\/problem\+json|text\/html); charset=utf-8$/, context);
    if (type.startsWith("text/html")) {
      assert.ok(!body.includes(marker), `input reflected unescaped in a page: ${context}`);
    } else {
      const parsed = JSON.parse(body);
      if (type.startsWith("application/problem+json")) {
        assert.equal(parsed.status, response.status, context);
        assert.equal(typeof parsed.title, "string", context);
        assert.equal(typeof parsed.detail, "string", context);
      }
    }
  }
  return { status: response.status, body };
}

// ---- Generators

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", " ", "target", "member", "..", ".", "%", "%00", "\u0000", "a/b", "__proto__", "constructor", marker, "x".repeat(3000), "é".repeat(600), "😀".repeat(300)),
);

/** A string that survives encodeURIComponent (no lone surrogates). */
const wellFormed = text.filter((value) => {
  try {
    encodeURIComponent(value);
    return true;
  } catch {
    return false;
  }
});

const jsonValue = fc.oneof(
  { depthSize: "small" },
  text,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(text, { maxLength: 5 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -1, 0, 1e308, ["admin"], ["admin", "admin"], ["root"], "https://evil.example", "javascript:alert(1)"),
);

const knownFields = [
  "login", "name", "email", "permissions", "active", "description", "enabled", "url", "applicationId", "secret",
  "synchronizeGroups", "allowUsersToSignUp", "allowedGroups", "expiresInDays", "__proto__", "constructor",
];

/** Values each field accepts, at their edges: so that generated requests also succeed and write. */
const validValue = {
  login: fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/),
  name: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constant("ü".repeat(100))),
  groupName: fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}(\/[A-Za-z0-9_.-]{1,12}){0,3}$/),
  email: fc.oneof(fc.emailAddress(), fc.constant(""), fc.constant(`${"é".repeat(120)}@example.com`)),
  permissions: fc.constantFrom([], ["admin"]),
  active: fc.boolean(),
  description: fc.oneof(text, fc.constant("😀".repeat(500))),
  enabled: fc.boolean(),
  url: fc.webUrl(),
  applicationId: fc.stringMatching(/^[a-z0-9]{0,20}$/),
  secret: fc.stringMatching(/^[a-z0-9]{0,20}$/),
  allowedGroups: fc.array(fc.stringMatching(/^[a-z0-9]{1,8}(\/[a-z0-9._-]{1,8}){0,3}$/), { maxLength: 3 }),
  expiresInDays: fc.integer({ min: 1, max: 3650 }),
};
const { login, name, groupName, email, permissions, active, description, enabled, url, applicationId, secret, allowedGroups, expiresInDays } = validValue;
const validBodies: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  "POST /api/users": fc.record({ login, name, email, permissions }, { requiredKeys: ["login"] }),
  "PATCH /api/users/{login}": fc.record({ name, email, active, permissions }, { requiredKeys: [] }),
  "POST /api/groups": fc.record({ name: groupName, description, permissions }, { requiredKeys: ["name"] }),
  "PATCH /api/groups/{id}": fc.record({ name: groupName, description, permissions }, { requiredKeys: [] }),
  "POST /api/tokens": fc.record({ name, expiresInDays }, { requiredKeys: ["name"] }),
  "PATCH /api/settings/gitlab": fc.record(
    { enabled, url, applicationId, secret, synchronizeGroups: active, allowUsersToSignUp: active, allowedGroups },
    { requiredKeys: [] },
  ),
};
const validFields = fc.record(validValue, { requiredKeys: [] });

/** Bodies that reach deep into validation: known field names with wrong or hostile values, and junk. */
const body = fc.oneof(
  validFields.map((value) => JSON.stringify(value)),
  fc.tuple(validFields, fc.dictionary(fc.constantFrom(...knownFields), jsonValue, { maxKeys: 2 })).map(([valid, hostile]) => JSON.stringify({ ...valid, ...hostile })),
  fc.dictionary(fc.constantFrom(...knownFields), jsonValue, { maxKeys: 5 }).map((value) => JSON.stringify(value)),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom("", "{", "[".repeat(5000), `${"[".repeat(3000)}${"]".repeat(3000)}`, '{"a":'.repeat(2000), "null", "1e999", '{"__proto__":{"admin":true}}', "\u0000"),
);

const cursorText = fc
  .dictionary(fc.constantFrom("pk", "sk", "gsi1pk", "gsi1sk", "x"), fc.oneof(text, fc.constantFrom("USERS", "GROUPS", "AUDIT", ""), fc.integer()), { maxKeys: 5 })
  .map((value) => Buffer.from(JSON.stringify(value)).toString("base64url"));

const queryKey = fc.oneof(fc.constantFrom("q", "limit", "cursor", "type", "login", "return_to", "code", "state", "error"), wellFormed);
const queryValue = fc.oneof(wellFormed, fc.integer().map(String), cursorText, fc.constantFrom("0", "101", "1e2", "-1", "50.5", "//evil.example"));
const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }).map((pairs) => new URLSearchParams(pairs).toString());

const headerValue = fc.oneof(
  fc.string({ unit: "grapheme-ascii", maxLength: 60 }).map((value) => value.replace(/[^\x20-\x7e]/g, "")),
  fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", '"0"', '"1"', "*", "W/\"0\""),
);
const headers = fc.record(
  {
    "content-type": headerValue,
    "if-match": headerValue,
    accept: headerValue,
    "x-forwarded-for": headerValue,
    "x-fuzz": headerValue,
  },
  { requiredKeys: [] },
);

type Credential = "admin-cookie" | "member-cookie" | "admin-token" | "bad-token" | "junk-cookie" | "none";
const credential = fc.constantFrom<Credential>("admin-cookie", "admin-cookie", "admin-token", "member-cookie", "bad-token", "junk-cookie", "none");
const origin = fc.constantFrom<string | null>("same", "same", "same", null, "https://evil.example", "null", "http://127.0.0.1:1");

function credentialHeaders(kind: Credential, junk: string): Record<string, string> {
  switch (kind) {
    case "admin-cookie":
      return { cookie: admin.cookieHeader("/") };
    case "member-cookie":
      return { cookie: member.cookieHeader("/") };
    case "admin-token":
      return { authorization: `Bearer ${adminToken}` };
    case "bad-token":
      return { authorization: `Bearer ${junk}` };
    case "junk-cookie":
      return { cookie: `session=${junk}; gitlab_oauth_state=${junk}` };
    case "none":
      return {};
  }
}

function requestFor(route: RouteSpec) {
  const known = (param: string): fc.Arbitrary<string> => (param === "{id}" ? fc.constant(fuzzGroupId) : fc.constantFrom("target", "member"));
  const params = fc.tuple(...(route.path.match(/\{[^}]+\}/g) ?? []).map((param) => fc.oneof(wellFormed, known(param))));
  const anything = fc.record({ params, query, headers, credential, origin, junk: headerValue, body: fc.option(body, { nil: undefined }) });
  // Most requests get past authentication, CSRF and content type, so validation and writes are reached.
  const authorized = fc.record({
    params,
    query,
    headers: fc.record({ "content-type": fc.constant("application/json"), "if-match": fc.constantFrom('"0"', '"1"', "*", "junk") }, { requiredKeys: ["content-type"] }),
    credential: fc.constantFrom<Credential>("admin-cookie", "admin-token"),
    origin: fc.constant<string | null>("same"),
    junk: headerValue,
    body: fc.oneof((validBodies[`${route.method} ${route.path}`] ?? validFields).map((value) => JSON.stringify(value)), body),
  });
  return fc.oneof({ weight: 3, arbitrary: authorized }, { weight: 2, arbitrary: anything });
}

async function send(route: RouteSpec, input: ReturnType<typeof requestFor> extends fc.Arbitrary<infer T> ? T : never): Promise<void> {
  let index = 0;
  const path = route.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(input.params[index++]!));
  const url = `${stack.url}${path}${input.query === "" ? "" : `?${input.query}`}`;
  const requestHeaders: Record<string, string> = { ...input.headers, ...credentialHeaders(input.credential, input.junk) };
  if (input.origin !== null) requestHeaders.origin = input.origin === "same" ? stack.url : input.origin;
  const withBody = route.method !== "GET" && input.body !== undefined;
  const response = await fetch(url, { method: route.method, headers: requestHeaders, body: withBody ? input.body : undefined, redirect: "manual" });
  await checkResponse(response, `${route.method} ${url.slice(0, 200)} as ${input.credential}`);
}

async function restoreSettings(): Promise<void> {
  const response = await fetch(`${stack.url}/api/settings/gitlab`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ enabled: true, url: stack.gitlab.url, applicationId: "test-app", secret: applicationSecret, synchronizeGroups: false, allowUsersToSignUp: true, allowedGroups: [] }),
  });
  assert.equal(response.status, 200);
}

/** Fuzzing may sign the admin out (logout) or break sign-in (settings): restore between runs. */
async function keepAdmin(): Promise<void> {
  if ((await admin.json("/api/me")).status !== 200) {
    await restoreSettings();
    admin = await signedInAdmin(stack);
  }
  if ((await fetch(`${stack.url}/api/me`, { headers: { authorization: `Bearer ${adminToken}` } })).status !== 200) {
    adminToken = (await admin.json("/api/tokens", { method: "POST", body: JSON.stringify({ name: "fuzz" }) })).body.token;
  }
}

describe("hostile input on every route", () => {
  test("every route answers generated requests without a 5xx, a stack trace or a leaked secret", async () => {
    assert.ok(routes.length >= 20, "all three functions' routes are fuzzed");
    try {
      for (const route of routes) {
        await assertProperty(
          fc.asyncProperty(requestFor(route), async (input) => {
            await send(route, input);
            if (route.path === "/auth/logout") await keepAdmin();
          }),
          { numRuns: runsPerRoute },
        );
        // DELETE /api/groups/{id} may have removed the group the next routes aim at.
        if ((await admin.json(`/api/groups/${fuzzGroupId}`)).status === 404) fuzzGroupId = await createGroup(admin, `fuzz/anything-${route.method}`);
      }
    } finally {
      // Restore what the fuzzing may have changed for the tests that follow.
      await keepAdmin();
      await restoreSettings();
      assert.equal((await admin.json("/api/users/member", { method: "PATCH", body: JSON.stringify({ active: true, permissions: [] }) })).status, 200);
      if ((await member.json("/api/me")).status !== 200) assert.equal((await member.signIn("member")).response.status, 302);
    }
  });

  test("unknown paths and methods answer 404 or 405, never 5xx", async () => {
    const segment = fc.oneof(fc.constantFrom("api", "auth", "gitlab", "users", "groups", "members", "settings", "tokens", "audit", "", "..", "%2F", "%ZZ"), wellFormed.map(encodeURIComponent));
    await assertProperty(
      fc.asyncProperty(fc.array(segment, { maxLength: 6 }), fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"), async (segments, method) => {
        const path = new URL(`${stack.url}/${segments.join("/")}`).pathname;
        const response = await fetch(`${stack.url}${path}`, { method, headers: { cookie: admin.cookieHeader("/"), origin: stack.url }, redirect: "manual" });
        const { status } = await checkResponse(response, `${method} ${path}`);
        const known = routes.some((route) => new RegExp(`^${route.path.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path));
        if (!known) assert.ok(status === 404 || status === 405, `${method} ${path} → ${status}`);
        if (method === "DELETE" || method === "PATCH" || method === "PUT" || method === "POST") await keepAdmin();
      }),
      { numRuns: 60 },
    );
  });

  test("bodies over 64 KiB are refused with 413 on every route that accepts a body, and nothing is written", async () => {
    const big = JSON.stringify({ name: "x".repeat(70 * 1024) });
    const huge = "x".repeat(2 * 1024 * 1024);
    for (const route of routes.filter(stateChanging)) {
      const path = route.path.replace("{id}", groupId).replace("{login}", "target");
      for (const payload of [big, huge]) {
        const response = await fetch(`${stack.url}${path}`, {
          method: route.method,
          headers: { cookie: admin.cookieHeader("/"), origin: stack.url, "content-type": "application/json" },
          body: payload,
        });
        const { status } = await checkResponse(response, `${route.method} ${path} with ${payload.length} bytes`);
        assert.equal(status, 413, `${route.method} ${path}`);
      }
    }
    assert.equal((await admin.json("/api/me")).status, 200, "logout refused the oversized body too");
    assert.equal((await admin.json(`/api/groups/${groupId}`)).status, 200, "the group was not deleted");
  });
});

// ---- Cookies

function sessionHash(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

const table = DynamoDBDocumentClient.from(new DynamoDBClient({}));

/** Moves a stored expiry into the past: the passage of time, without waiting for it. */
async function expire(pk: string, attributes: string[]): Promise<void> {
  await table.send(
    new UpdateCommand({
      TableName: stack.tableName,
      Key: { pk, sk: pk },
      UpdateExpression: `SET ${attributes.map((name, index) => `#a${index} = :past`).join(", ")}`,
      ExpressionAttributeNames: Object.fromEntries(attributes.map((name, index) => [`#a${index}`, name])),
      ExpressionAttributeValues: { ":past": Math.floor(Date.now() / 1000) - 10 },
      ConditionExpression: "attribute_exists(pk)",
    }),
  );
}

describe("session and state cookies", () => {
  test("a tampered session cookie is never accepted", async () => {
    const browser = stack.browser();
    assert.equal((await browser.signIn("member")).response.status, 302);
    const token = browser.sessionToken()!;
    const mutation = fc.oneof(
      fc.nat({ max: token.length - 1 }).chain((at) => fc.constantFrom("A", "b", "-", "_", "0").map((character) => token.slice(0, at) + character + token.slice(at + 1))),
      fc.nat({ max: token.length - 1 }).map((length) => token.slice(0, length)),
      fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 10 }).map((suffix) => token + suffix.replace(/[;\s]/g, "")),
      fc.constant(token.toUpperCase()),
      fc.constant(`${token}; session=${token}`.slice(1)),
    );
    await assertProperty(
      fc.asyncProperty(mutation, async (tampered) => {
        fc.pre(tampered !== token);
        const response = await fetch(`${stack.url}/api/me`, { headers: { cookie: `session=${tampered}` } });
        const { status } = await checkResponse(response, `session=${tampered}`);
        assert.equal(status, 401);
      }),
      { numRuns: 40 },
    );
    assert.equal((await browser.json("/api/me")).status, 200, "the real cookie still works");
  });

  test("a session replayed after logout is refused", async () => {
    const browser = stack.browser();
    await browser.signIn("member");
    const token = browser.sessionToken()!;
    assert.equal((await browser.fetch("/auth/logout", { method: "POST" })).status, 204);
    for (const path of ["/api/me", "/api/settings/gitlab", "/api/users"]) {
      const response = await fetch(`${stack.url}${path}`, { headers: { cookie: `session=${token}` } });
      assert.equal(response.status, 401, path);
    }
  });

  test("a session past its idle or absolute expiry is refused, though still stored", async () => {
    for (const attribute of ["idleExpiresAt", "absoluteExpiresAt"]) {
      const browser = stack.browser();
      await browser.signIn("member");
      assert.equal((await browser.json("/api/me")).status, 200);
      await expire(`SESSION#${sessionHash(browser.sessionToken()!)}`, [attribute]);
      assert.equal((await browser.json("/api/me")).status, 401, attribute);
    }
  });

  test("a sign-in state that expired, was tampered with or replayed is refused with 400 and no session", async () => {
    const expired = stack.browser();
    const callback = await prepareCallback(expired, "member");
    await expire(`OAUTHSTATE#${sessionHash(expired.cookies.get("gitlab_oauth_state")!.value)}`, ["expiresAt"]);
    const outcomes = [await expired.fetch(callback)];

    const replayed = stack.browser();
    const first = await prepareCallback(replayed, "member");
    const stateCookie = replayed.cookies.get("gitlab_oauth_state")!;
    assert.equal((await replayed.fetch(first)).status, 302);
    replayed.cookies.delete("session");
    replayed.cookies.set("gitlab_oauth_state", stateCookie);
    outcomes.push(await replayed.fetch(first));

    await assertProperty(
      fc.asyncProperty(fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 80 }).map((value) => value.replace(/[;\s,]/g, "")), async (forged) => {
        const browser = stack.browser();
        const path = await prepareCallback(browser, "member");
        fc.pre(forged !== "" && forged !== browser.cookies.get("gitlab_oauth_state")!.value);
        browser.cookies.set("gitlab_oauth_state", { value: forged, path: "/auth/gitlab/callback" });
        const response = await browser.fetch(path);
        assert.equal((await checkResponse(response, `state=${forged}`)).status, 400);
        assert.equal(browser.sessionToken(), null);
      }),
      { numRuns: 10 },
    );
    for (const response of outcomes) {
      assert.equal(response.status, 400);
      assert.equal(response.headers.getSetCookie().some((cookie) => cookie.startsWith("session=")), false);
    }
  });

  test("a callback with a generated code, state or GitLab error never signs in and never fails with 5xx", async () => {
    await assertProperty(
      fc.asyncProperty(
        fc.record({ code: fc.option(wellFormed, { nil: undefined }), state: fc.option(wellFormed, { nil: undefined }), error: fc.option(wellFormed, { nil: undefined }), extra: wellFormed }),
        async (hostile) => {
          const browser = stack.browser();
          const callback = new URL(await prepareCallback(browser, "member"), stack.url);
          for (const name of ["code", "state", "error"] as const) {
            if (hostile[name] !== undefined) callback.searchParams.set(name, hostile[name]!);
          }
          callback.searchParams.append("error_description", hostile.extra);
          fc.pre(hostile.code !== undefined || hostile.state !== undefined || hostile.error !== undefined);
          const response = await browser.fetch(callback.pathname + callback.search);
          const { status } = await checkResponse(response, callback.search);
          assert.ok(status === 400 || status === 403, `${callback.search} → ${status}`);
          assert.equal(browser.sessionToken(), null);
        },
      ),
      { numRuns: 20 },
    );
  });

  test("a session cookie planted before sign-in is replaced, not adopted", async () => {
    const attacker = stack.browser();
    await attacker.signIn("member");
    const planted = attacker.sessionToken()!;
    const victim = stack.browser();
    victim.cookies.set("session", { value: planted, path: "/" });
    assert.equal((await victim.signIn("member")).response.status, 302);
    assert.notEqual(victim.sessionToken(), planted);
  });
});

// ---- Open redirects

const redirectCandidate = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.webPath(),
  fc
    .array(
      fc.constantFrom("/", "//", "\\", "/\\", ".", "..", "./", "../", "%2f", "%2F", "%5c", "%2e", "%2e%2e", "\t", "\n", "\r", " ", "@", ":", "?", "#", "evil.example", "https:", "javascript:", "data:", "%09", "%0a", "\u3002", "\uff0f", "%E3%80%82"),
      { minLength: 1, maxLength: 8 },
    )
    .map((parts) => parts.join("")),
  fc.string({ maxLength: 30 }),
);

const serviceOrigin = "https://service.example";

function assertSameOriginRelative(location: string, input: string): void {
  const message = `${JSON.stringify(input)} → ${JSON.stringify(location)}`;
  assert.ok(location.startsWith("/") && !location.startsWith("//") && !location.startsWith("/\\"), message);
  assert.doesNotMatch(location, /[\u0000-\u001f\u007f\\]/, message);
  // Browsers drop tabs and newlines before parsing; either way it must stay on our origin.
  assert.equal(new URL(location, serviceOrigin).origin, serviceOrigin, message);
  assert.equal(new URL(location.replace(/[\t\n\r]/g, ""), serviceOrigin).origin, serviceOrigin, message);
}

describe("return_to", () => {
  test("every generated return address becomes a same-origin relative path", async () => {
    await assertProperty(
      fc.property(redirectCandidate, (input) => assertSameOriginRelative(safeReturnTo(input), input)),
      { numRuns: 3000 },
    );
    for (const attack of ["/.//evil.example", "/..//evil.example", "/a/..//evil.example", "/%2e//evil.example", "/%2e%2e//evil.example"]) {
      assert.equal(safeReturnTo(attack), "/", attack);
    }
  });

  test("the Location after a real sign-in is always a same-origin relative path", async () => {
    await assertProperty(
      fc.asyncProperty(redirectCandidate, async (input) => {
        const outcome = await stack.browser().signIn("member", input);
        assert.equal(outcome.response.status, 302);
        assertSameOriginRelative(outcome.response.headers.get("location")!, input);
      }),
      { numRuns: 25, examples: [["/.//evil.example"], ["//evil.example"], ["/\\evil.example"]] },
    );
  });
});

// ---- CSRF and privilege escalation

function concretePath(route: RouteSpec): string {
  return route.path.replace("{id}", groupId).replace("{login}", "target");
}

describe("CSRF", () => {
  test("every state-changing route refuses a cookie session without our Origin, and changes nothing", async () => {
    const before = JSON.stringify([(await admin.json("/api/users/target")).body, (await admin.json(`/api/groups/${groupId}/members`)).body, (await admin.json("/api/settings/gitlab")).body]);
    const bodies: Record<string, unknown> = {
      "POST /api/users": { login: "csrf-created" },
      "PATCH /api/users/{login}": { active: false },
      "POST /api/groups": { name: "csrf-group" },
      "PATCH /api/groups/{id}": { description: "csrf" },
      "POST /api/tokens": { name: "csrf" },
      "PATCH /api/settings/gitlab": { allowUsersToSignUp: false },
    };
    const routesChecked: string[] = [];
    for (const route of routes.filter(stateChanging)) {
      for (const origin of [null, "https://evil.example", "null", stack.url.replace("127.0.0.1", "localhost"), `${stack.url}.evil.example`]) {
        const body = bodies[`${route.method} ${route.path}`];
        const response = await admin.fetch(concretePath(route), {
          method: route.method,
          origin,
          headers: { "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const { status, body: text } = await checkResponse(response, `${route.method} ${route.path} from ${origin}`);
        assert.equal(status, 403, `${route.method} ${route.path} from ${origin}: ${text}`);
        assert.match(text, /Origin/);
      }
      routesChecked.push(`${route.method} ${route.path}`);
    }
    assert.ok(routesChecked.includes("POST /auth/logout") && routesChecked.includes("PATCH /api/settings/gitlab"));
    assert.equal((await admin.json("/api/me")).status, 200, "still signed in");
    assert.equal((await admin.json("/api/users/csrf-created")).status, 404);
    const after = JSON.stringify([(await admin.json("/api/users/target")).body, (await admin.json(`/api/groups/${groupId}/members`)).body, (await admin.json("/api/settings/gitlab")).body]);
    assert.equal(after, before);
  });

  test("an API token needs no Origin: it is not sent by browsers on their own", async () => {
    const response = await fetch(`${stack.url}/api/groups`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "made-by-token" }),
    });
    assert.equal(response.status, 201);
  });
});

describe("privilege escalation", () => {
  test("a non-admin cannot change settings, permissions, groups or memberships, nor add themself to an admin group", async () => {
    const attempts: [string, string, unknown?][] = [
      ["PATCH", "/api/settings/gitlab", { allowUsersToSignUp: false }],
      ["PATCH", "/api/users/member", { permissions: ["admin"] }],
      ["PATCH", "/api/users/root", { active: false }],
      ["POST", "/api/users", { login: "sneaky", permissions: ["admin"] }],
      ["POST", "/api/groups", { name: "sneaky", permissions: ["admin"] }],
      ["PATCH", `/api/groups/${groupId}`, { permissions: [] }],
      ["DELETE", `/api/groups/${groupId}`],
      ["PUT", `/api/groups/${groupId}/members/member`],
      ["DELETE", `/api/groups/${groupId}/members/root`],
      ["POST", "/api/tokens", { name: "sneaky" }],
      ["GET", "/api/users"],
      ["GET", "/api/audit"],
      ["GET", "/api/settings/gitlab"],
    ];
    for (const [method, path, body] of attempts) {
      const response = await member.json(path, { method, ...(body !== undefined && { body: JSON.stringify(body) }) });
      assert.equal(response.status, 403, `${method} ${path}: ${JSON.stringify(response.body)}`);
    }
    const me = await member.json("/api/me");
    assert.deepEqual([me.body.permissions, me.body.groups], [[], []]);
    assert.deepEqual((await admin.json(`/api/groups/${groupId}`)).body.permissions, ["admin"]);
    assert.equal((await admin.json("/api/users/sneaky")).status, 404);
    assert.equal((await admin.json("/api/settings/gitlab")).body.allowUsersToSignUp, true);
  });

  test("a demoted admin's token loses admin at once; a deactivated user's token and sessions stop working, also after reactivation", async () => {
    const other = await signedInAdmin(stack, "other-admin");
    const created = await other.json("/api/tokens", { method: "POST", body: JSON.stringify({ name: "automation" }) });
    assert.equal(created.status, 201);
    const bearer = { authorization: `Bearer ${created.body.token}` };
    assert.equal((await fetch(`${stack.url}/api/users`, { headers: bearer })).status, 200);

    assert.equal((await admin.json("/api/users/other-admin", { method: "PATCH", body: JSON.stringify({ permissions: [] }) })).status, 200);
    assert.equal((await fetch(`${stack.url}/api/users`, { headers: bearer })).status, 403, "demoted");
    assert.equal((await other.json("/api/users")).status, 403, "demoted session");

    assert.equal((await admin.json("/api/users/other-admin", { method: "PATCH", body: JSON.stringify({ active: false }) })).status, 200);
    assert.equal((await fetch(`${stack.url}/api/me`, { headers: bearer })).status, 401, "deactivated token");
    assert.equal((await other.json("/api/me")).status, 401, "deactivated session");
    assert.equal((await admin.json("/api/users/other-admin", { method: "PATCH", body: JSON.stringify({ active: true, permissions: ["admin"] }) })).status, 200);
    assert.equal((await fetch(`${stack.url}/api/me`, { headers: bearer })).status, 401, "the token stays revoked");
    assert.equal((await other.json("/api/me")).status, 401, "the session stays ended");
  });
});
