// API tokens over real HTTP: created and shown once, listed without values, used as Bearer
// tokens, revoked, and dead with a deactivated owner.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser } from "./support/browser.js";
import { createGroup, scanTable, signedInAdmin } from "./support/hardening.js";
import { startStack } from "./support/stack.js";
import type { Stack } from "./support/stack.js";

let stack: Stack;
let admin: Browser;

async function createToken(browser: Browser, body: Record<string, unknown>): Promise<{ id: string; name: string; token: string; expiresAt: string | null; createdAt: string }> {
  const response = await browser.json("/api/tokens", { method: "POST", body: JSON.stringify(body) });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

/** A request with `Authorization: Bearer`, no cookie and no Origin, like a script would send. */
async function withToken(token: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(new URL(path, stack.url), {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined && { "content-type": "application/json" }) },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}

/** An administrator who is not root: signs in through GitLab and gets admin through the API. */
async function newAdmin(username: string, id: number): Promise<Browser> {
  stack.gitlab.upsertUser({ id, username, name: username, email: `${username}@example.com` });
  const browser = stack.browser();
  assert.equal((await browser.signIn(username)).response.status, 302);
  assert.equal((await admin.json(`/api/users/${username}`, { method: "PATCH", body: JSON.stringify({ permissions: ["admin"] }) })).status, 200);
  return browser;
}

before(async () => {
  stack = await startStack({
    users: [{ id: 1, username: "root", name: "Root", email: "root@example.com" }],
    env: { INITIAL_ADMINS: "root" },
  });
  admin = await signedInAdmin(stack);
});
after(() => stack.close());

describe("API tokens", () => {
  test("are shown once at creation and listed without their value", async () => {
    const before = Date.now();
    const created = await createToken(admin, { name: "ci", expiresInDays: 30 });
    assert.deepEqual(Object.keys(created).sort(), ["createdAt", "expiresAt", "id", "name", "token"]);
    assert.equal(created.name, "ci");
    assert.match(created.token, /^gljit_[A-Za-z0-9_-]{43}$/);
    const expires = Date.parse(created.expiresAt!);
    assert.ok(Math.abs(expires - (before + 30 * 86400_000)) < 60_000, `expires in 30 days: ${created.expiresAt}`);

    const forever = await createToken(admin, { name: "no expiry" });
    assert.equal(forever.expiresAt, null);

    const listed = await admin.json("/api/tokens");
    assert.equal(listed.status, 200);
    const mine = listed.body.items.filter((item: { id: string }) => item.id === created.id || item.id === forever.id);
    assert.equal(mine.length, 2);
    for (const item of listed.body.items) {
      assert.deepEqual(Object.keys(item).sort(), ["createdAt", "expiresAt", "id", "name"]);
    }
    assert.ok(!JSON.stringify(listed.body).includes(created.token));
  });

  test("are stored only as a hash", async () => {
    const created = await createToken(admin, { name: "hashed" });
    const items = await scanTable(stack);
    const secret = created.token.slice("gljit_".length);
    assert.ok(!items.some((item) => JSON.stringify(item).includes(secret)), "the token value is nowhere in the table");
  });

  test("authenticate requests as their owner, without cookie or Origin", async () => {
    const { token } = await createToken(admin, { name: "script" });
    const me = await withToken(token, "/api/me");
    assert.equal(me.status, 200);
    assert.equal(me.body.login, "root");
    assert.deepEqual(me.body.permissions, ["admin"]);
    assert.equal((await withToken(token, "/api/users")).status, 200);
    const created = await withToken(token, "/api/groups", { method: "POST", body: { name: "made-by-token" } });
    assert.equal(created.status, 201, "state changes need no Origin with a token");
    const event = (await admin.json("/api/audit?type=group.created&limit=100")).body.items.find(
      (item: { details: { group?: string } }) => item.details.group === "made-by-token",
    );
    assert.equal(event.actor.kind, "token");
    assert.equal(event.actor.login, "root");
  });

  test("refuse malformed, unknown and foreign-looking tokens without falling back to the cookie", async () => {
    const { token } = await createToken(admin, { name: "shape" });
    for (const authorization of [`Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, "Bearer gljit_", "Bearer ", `Basic ${token}`, `bearer  ${token} extra`, `Bearer ${"a".repeat(500)}`]) {
      const response = await admin.fetch("/api/me", { headers: { authorization } });
      assert.equal(response.status, 401, authorization.slice(0, 40));
    }
  });

  test("stop working when revoked; revoking is 404 for unknown ids and other users' tokens", async () => {
    const created = await createToken(admin, { name: "short-lived" });
    assert.equal((await withToken(created.token, "/api/me")).status, 200);
    const other = await newAdmin("other-admin", 20);
    assert.equal((await other.json(`/api/tokens/${created.id}`, { method: "DELETE" })).status, 404, "only the owner revokes");
    assert.ok(!(await other.json("/api/tokens")).body.items.some((item: { id: string }) => item.id === created.id), "only the owner lists");
    const revoked = await admin.json(`/api/tokens/${created.id}`, { method: "DELETE" });
    assert.equal(revoked.status, 204);
    assert.equal((await withToken(created.token, "/api/me")).status, 401);
    assert.equal((await admin.json(`/api/tokens/${created.id}`, { method: "DELETE" })).status, 404);
    assert.equal((await admin.json("/api/tokens/unknown-id", { method: "DELETE" })).status, 404);
    assert.ok(!(await admin.json("/api/tokens")).body.items.some((item: { id: string }) => item.id === created.id));
  });

  test("a token can revoke itself", async () => {
    const created = await createToken(admin, { name: "self-revoking" });
    assert.equal((await withToken(created.token, `/api/tokens/${created.id}`, { method: "DELETE" })).status, 204);
    assert.equal((await withToken(created.token, "/api/me")).status, 401);
  });

  test("stop working when their owner is deactivated, and stay revoked after reactivation", async () => {
    const owner = await newAdmin("token-owner", 21);
    const created = await createToken(owner, { name: "owner's" });
    assert.equal((await withToken(created.token, "/api/users")).status, 200);
    assert.equal((await admin.json("/api/users/token-owner", { method: "PATCH", body: JSON.stringify({ active: false }) })).status, 200);
    assert.equal((await withToken(created.token, "/api/me")).status, 401);
    assert.equal((await admin.json("/api/users/token-owner", { method: "PATCH", body: JSON.stringify({ active: true }) })).status, 200);
    assert.equal((await withToken(created.token, "/api/me")).status, 401, "deactivation revoked the token");
  });

  test("act with their owner's current permissions", async () => {
    const owner = await newAdmin("demoted", 22);
    const { token } = await createToken(owner, { name: "demoted's" });
    assert.equal((await withToken(token, "/api/users")).status, 200);
    assert.equal((await admin.json("/api/users/demoted", { method: "PATCH", body: JSON.stringify({ permissions: [] }) })).status, 200);
    assert.equal((await withToken(token, "/api/users")).status, 403);
    assert.equal((await withToken(token, "/api/me")).status, 200, "still authenticated");

    // Administer System through a group counts as well.
    const admins = await createGroup(admin, "token-admins", ["admin"]);
    assert.equal((await admin.json(`/api/groups/${admins}/members/demoted`, { method: "PUT" })).status, 200);
    assert.equal((await withToken(token, "/api/users")).status, 200);
  });

  test("name every bad field", async () => {
    const cases: [body: unknown, fields: string[]][] = [
      [{}, ["name"]],
      [{ name: "" }, ["name"]],
      [{ name: 5 }, ["name"]],
      [{ name: "x".repeat(101) }, ["name"]],
      [{ name: "ok", expiresInDays: 0 }, ["expiresInDays"]],
      [{ name: "ok", expiresInDays: 3651 }, ["expiresInDays"]],
      [{ name: "ok", expiresInDays: 1.5 }, ["expiresInDays"]],
      [{ name: "ok", expiresInDays: "7" }, ["expiresInDays"]],
      [{ name: "ok", token: "mine", scopes: [] }, ["scopes", "token"]],
    ];
    const before = (await admin.json("/api/tokens")).body.items.length;
    for (const [body, fields] of cases) {
      const response = await admin.json("/api/tokens", { method: "POST", body: JSON.stringify(body) });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.deepEqual(response.body.errors.map((error: { field: string }) => error.field).sort(), fields);
    }
    assert.equal((await admin.json("/api/tokens")).body.items.length, before, "nothing created");
  });
});

describe("credentials of a deactivated user", () => {
  test("stay void after reactivation even when the deletion missed them", async () => {
    const browser = await newAdmin("lagging", 77);
    const created = await createToken(browser, { name: "raced" });
    const sessionToken = browser.sessionToken()!;
    // What an eventually consistent index could leave behind: copies of the items taken before deactivation.
    const items = await scanTable(stack);
    const userId = items.find((item) => item.pk.startsWith("TOKEN#") && item.id === created.id)!.userId;
    const survivors = items.filter((item) => item.gsi1pk === `USERSESSIONS#${userId}` || item.gsi1pk === `USERTOKENS#${userId}`);
    assert.equal(survivors.length, 2);
    const { DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
    const { DynamoDBDocumentClient, PutCommand } = await import("@aws-sdk/lib-dynamodb");
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    assert.equal((await admin.json("/api/users/lagging", { method: "PATCH", body: JSON.stringify({ active: false }) })).status, 200);
    for (const item of survivors) await client.send(new PutCommand({ TableName: stack.tableName, Item: item }));
    assert.equal((await admin.json("/api/users/lagging", { method: "PATCH", body: JSON.stringify({ active: true }) })).status, 200);
    assert.equal((await withToken(created.token, "/api/me")).status, 401, "token void");
    const me = await fetch(`${stack.url}/api/me`, { headers: { cookie: `session=${sessionToken}` } });
    assert.equal(me.status, 401, "session void");
    const fresh = stack.browser();
    assert.equal((await fresh.signIn("lagging")).response.status, 302);
    assert.equal((await fresh.json("/api/me")).status, 200, "a new sign-in works");
    client.destroy();
  });
});

describe("token limit", () => {
  test("refuses a 51st live token with 409, and accepts one again after a revocation", async () => {
    const browser = await newAdmin("collector", 78);
    const created = [];
    for (let index = 0; index < 50; index++) created.push(await createToken(browser, { name: `t${index}` }));
    const refused = await browser.json("/api/tokens", { method: "POST", body: JSON.stringify({ name: "one too many" }) });
    assert.equal(refused.status, 409);
    assert.match(refused.body.detail, /Revoke one/);
    assert.equal((await browser.json(`/api/tokens/${created[0]!.id}`, { method: "DELETE" })).status, 204);
    await createToken(browser, { name: "replacement" });
    assert.equal((await browser.json("/api/tokens")).body.items.length, 50);
  });
});
