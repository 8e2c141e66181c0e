// The provisioning API over real HTTP: users, groups, memberships, the audit listing; its
// authentication, pagination and answers to bad input.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser } from "./support/browser.js";
import { createGroup, listAll, signedInAdmin } from "./support/hardening.js";
import { startStack } from "./support/stack.js";
import type { Stack } from "./support/stack.js";

let stack: Stack;
let admin: Browser;
let member: Browser;
let nextId = 100;

function send(browser: Browser, method: string, path: string, body?: unknown): ReturnType<Browser["json"]> {
  return browser.json(path, { method, ...(body !== undefined && { body: JSON.stringify(body) }) });
}

async function createUser(body: Record<string, unknown>): Promise<any> {
  const response = await send(admin, "POST", "/api/users", body);
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

function assertProblem(response: { status: number; body: any; response: Response }, status: number, fields: string[] = []): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.match(response.response.headers.get("content-type")!, /^application\/problem\+json/);
  assert.equal(response.body.status, status);
  assert.equal(typeof response.body.detail, "string");
  if (fields.length > 0) {
    assert.deepEqual(response.body.errors.map((error: { field: string }) => error.field).sort(), [...fields].sort(), JSON.stringify(response.body));
  }
}

/** Follows nextCursor with `limit` per page; every page but possibly the last holds `limit` items. */
async function pages(path: string, limit: number): Promise<any[][]> {
  const result: any[][] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const page = await admin.json(`${path}${separator}limit=${limit}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.ok(page.body.items.length <= limit);
    result.push(page.body.items);
    cursor = page.body.nextCursor;
    if (cursor !== null) assert.match(cursor, /^[A-Za-z0-9_-]+$/, "an opaque, URL-safe cursor");
  } while (cursor !== null);
  return result;
}

function cursorOf(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

before(async () => {
  stack = await startStack({
    users: [
      { id: 1, username: "root", name: "Root", email: "root@example.com" },
      { id: 2, username: "bob", name: "Bob", email: "bob@example.com" },
    ],
    env: { INITIAL_ADMINS: "root" },
  });
  admin = await signedInAdmin(stack);
  member = stack.browser();
  assert.equal((await member.signIn("bob")).response.status, 302);
});
after(() => stack.close());

const routes: { method: string; path: string; body?: unknown }[] = [
  { method: "GET", path: "/api/users" },
  { method: "POST", path: "/api/users", body: { login: "route-check" } },
  { method: "GET", path: "/api/users/root" },
  { method: "PATCH", path: "/api/users/root", body: { name: "x" } },
  { method: "GET", path: "/api/groups" },
  { method: "POST", path: "/api/groups", body: { name: "route-check" } },
  { method: "GET", path: "/api/groups/0000000000000000000000000000" },
  { method: "PATCH", path: "/api/groups/0000000000000000000000000000", body: { description: "x" } },
  { method: "DELETE", path: "/api/groups/0000000000000000000000000000" },
  { method: "GET", path: "/api/groups/0000000000000000000000000000/members" },
  { method: "PUT", path: "/api/groups/0000000000000000000000000000/members/root" },
  { method: "DELETE", path: "/api/groups/0000000000000000000000000000/members/root" },
  { method: "GET", path: "/api/tokens" },
  { method: "POST", path: "/api/tokens", body: { name: "route-check" } },
  { method: "DELETE", path: "/api/tokens/0000000000000000000000000000" },
  { method: "GET", path: "/api/audit" },
];

describe("authentication and permission", () => {
  for (const route of routes) {
    const body = route.body === undefined ? undefined : JSON.stringify(route.body);
    test(`${route.method} ${route.path}: 401 signed out, 403 without Administer System`, async () => {
      const anonymous = await stack.browser().json(route.path, { method: route.method, body });
      assertProblem(anonymous, 401);
      assertProblem(await member.json(route.path, { method: route.method, body }), 403);
      const badToken = await fetch(new URL(route.path, stack.url), { method: route.method, headers: { authorization: "Bearer gljit_not-a-token", "content-type": "application/json" }, body });
      assert.equal(badToken.status, 401);
    });
    if (route.method !== "GET") {
      test(`${route.method} ${route.path}: 403 for a cookie without a matching Origin`, async () => {
        for (const origin of [null, "https://evil.example", "null"]) {
          const response = await admin.json(route.path, { method: route.method, body, origin });
          assertProblem(response, 403);
          assert.match(response.body.detail, /Origin/);
        }
      });
    }
  }
});

describe("users", () => {
  test("creates an unlinked user and shows every field", async () => {
    const created = await createUser({ login: "carol", name: "Carol", email: "carol@example.com", permissions: ["admin"] });
    assert.deepEqual(Object.keys(created).sort(), ["active", "createdAt", "email", "gitlabId", "groups", "lastSignInAt", "login", "name", "permissions", "source"]);
    assert.deepEqual(
      { ...created, createdAt: undefined },
      { login: "carol", name: "Carol", email: "carol@example.com", gitlabId: null, source: "api", active: true, permissions: ["admin"], groups: [], createdAt: undefined, lastSignInAt: null },
    );
    assert.ok(!Number.isNaN(Date.parse(created.createdAt)));
    const read = await admin.json("/api/users/carol");
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, created);
    assert.deepEqual((await admin.json("/api/users/CAROL")).body.login, "carol", "logins are found case-insensitively");
  });

  test("shows a GitLab user with source gitlab, its GitLab id and last sign-in", async () => {
    const bob = await admin.json("/api/users/bob");
    assert.equal(bob.body.source, "gitlab");
    assert.equal(bob.body.gitlabId, 2);
    assert.ok(!Number.isNaN(Date.parse(bob.body.lastSignInAt)));
  });

  test("keeps logins and emails unique, case-insensitively", async () => {
    await createUser({ login: "dave", email: "dave@example.com" });
    for (const body of [{ login: "dave" }, { login: "DAVE" }, { login: "bob" }]) {
      const response = await send(admin, "POST", "/api/users", body);
      assertProblem(response, 409);
      assert.match(response.body.detail, /login/);
    }
    const email = await send(admin, "POST", "/api/users", { login: "dave2", email: "DAVE@example.com" });
    assertProblem(email, 409);
    assert.match(email.body.detail, /email/);
    assert.equal((await admin.json("/api/users/dave2")).status, 404, "nothing written");
    const patched = await send(admin, "PATCH", "/api/users/dave", { email: "Bob@Example.com" });
    assertProblem(patched, 409);
    assert.equal((await admin.json("/api/users/dave")).body.email, "dave@example.com");
  });

  test("changes name, email, permissions and active", async () => {
    await createUser({ login: "erin", email: "erin@example.com" });
    const patched = await send(admin, "PATCH", "/api/users/erin", { name: "Erin E.", email: "erin@new.example", permissions: ["admin"], active: false });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.name, "Erin E.");
    assert.equal(patched.body.email, "erin@new.example");
    assert.deepEqual(patched.body.permissions, ["admin"]);
    assert.equal(patched.body.active, false);
    assert.deepEqual((await admin.json("/api/users/erin")).body, patched.body);
    // The old email is free again, the new one is taken.
    await createUser({ login: "erin-old", email: "erin@example.com" });
    assertProblem(await send(admin, "POST", "/api/users", { login: "erin-new", email: "ERIN@new.example" }), 409);
    const unchanged = await send(admin, "PATCH", "/api/users/erin", {});
    assert.equal(unchanged.status, 200);
    assert.deepEqual(unchanged.body, patched.body);
  });

  test("deactivating a user ends their sessions at once; reactivating lets them sign in again", async () => {
    stack.gitlab.upsertUser({ id: nextId++, username: "frank", name: "Frank", email: "frank@example.com" });
    const frank = stack.browser();
    assert.equal((await frank.signIn("frank")).response.status, 302);
    assert.equal((await send(admin, "PATCH", "/api/users/frank", { active: false })).status, 200);
    assert.equal((await frank.json("/api/me")).status, 401);
    assert.equal((await stack.browser().signIn("frank")).response.status, 403);
    assert.equal((await send(admin, "PATCH", "/api/users/frank", { active: true })).status, 200);
    assert.equal((await stack.browser().signIn("frank")).response.status, 302);
  });

  test("refuses to let an administrator deactivate themself", async () => {
    const response = await send(admin, "PATCH", "/api/users/root", { active: false });
    assertProblem(response, 409);
    assert.equal((await admin.json("/api/me")).status, 200);
  });

  test("names every bad field", async () => {
    const cases: [body: unknown, fields: string[]][] = [
      [{}, ["login"]],
      [{ login: "" }, ["login"]],
      [{ login: "has space" }, ["login"]],
      [{ login: "a/b" }, ["login"]],
      [{ login: "x".repeat(256) }, ["login"]],
      [{ login: 42 }, ["login"]],
      [{ login: "ok-login", email: "not-an-email" }, ["email"]],
      [{ login: "ok-login", name: 7, permissions: ["root"], extra: true }, ["extra", "name", "permissions"]],
      [{ login: "ok-login", permissions: "admin" }, ["permissions"]],
      [{ login: "ok-login", active: false }, ["active"]],
      [{ login: "ok-login", gitlabId: 5 }, ["gitlabId"]],
    ];
    for (const [body, fields] of cases) assertProblem(await send(admin, "POST", "/api/users", body), 400, fields);
    assert.equal((await admin.json("/api/users/ok-login")).status, 404, "nothing written");
    const patchCases: [body: unknown, fields: string[]][] = [
      [{ active: "no" }, ["active"]],
      [{ login: "renamed" }, ["login"]],
      [{ email: "x", permissions: [1] }, ["email", "permissions"]],
      [{ source: "gitlab" }, ["source"]],
    ];
    for (const [body, fields] of patchCases) assertProblem(await send(admin, "PATCH", "/api/users/carol", body), 400, fields);
  });

  test("answers 404 for an unknown login, whatever its shape", async () => {
    for (const login of ["nobody", "x".repeat(3000), "%C3%BC", "a%2Fb", "%00"]) {
      assertProblem(await admin.json(`/api/users/${login}`), 404);
      assertProblem(await send(admin, "PATCH", `/api/users/${login}`, { name: "x" }), 404);
    }
  });

  test("lists users by login, filtered by a case-insensitive prefix, page by page", async () => {
    await Promise.all(Array.from({ length: 7 }, (_, index) => createUser({ login: `Lister-${index}` })));
    const result = await pages("/api/users?q=lister-", 3);
    assert.deepEqual(result.map((page) => page.length).slice(0, 3), [3, 3, 1]);
    const logins = result.flat().map((user) => user.login);
    assert.deepEqual(logins, Array.from({ length: 7 }, (_, index) => `Lister-${index}`));
    assert.ok(result.flat().every((user) => Array.isArray(user.groups) && user.source === "api"));
    const all = await listAll(admin, "/api/users");
    assert.equal(new Set(all.map((user) => user.login)).size, all.length, "no user twice");
    assert.ok(all.length >= 12);
  });
});

describe("groups", () => {
  test("creates a group and reads it back", async () => {
    const created = await send(admin, "POST", "/api/groups", { name: "platform/backend", description: "Back end", permissions: [] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(Object.keys(created.body).sort(), ["description", "id", "name", "permissions"]);
    assert.match(created.body.id, /^[0-9a-z]+$/);
    assert.deepEqual({ ...created.body, id: undefined }, { id: undefined, name: "platform/backend", description: "Back end", permissions: [] });
    const read = await admin.json(`/api/groups/${created.body.id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, created.body);
  });

  test("treats names case-sensitively: Team and team are two groups, a duplicate is 409", async () => {
    const upper = await send(admin, "POST", "/api/groups", { name: "Team" });
    const lower = await send(admin, "POST", "/api/groups", { name: "team" });
    assert.equal(upper.status, 201);
    assert.equal(lower.status, 201);
    assert.notEqual(upper.body.id, lower.body.id);
    const duplicate = await send(admin, "POST", "/api/groups", { name: "Team" });
    assertProblem(duplicate, 409);
    assert.match(duplicate.body.detail, /Team/);
    assert.deepEqual((await admin.json("/api/groups?q=Team")).body.items.map((group: { name: string }) => group.name), ["Team"]);
    assert.deepEqual((await admin.json("/api/groups?q=team")).body.items.map((group: { name: string }) => group.name), ["team"]);
  });

  test("accepts only GitLab full paths as names, naming every bad field", async () => {
    for (const name of ["", "/a", "a/", "a//b", "a b", "a\\b", "ünï", "a?b", "x".repeat(1025), 5, null]) {
      assertProblem(await send(admin, "POST", "/api/groups", { name }), 400, ["name"]);
    }
    assertProblem(await send(admin, "POST", "/api/groups", {}), 400, ["name"]);
    assertProblem(await send(admin, "POST", "/api/groups", { name: "ok", description: 1, permissions: ["owner"], id: "x" }), 400, ["description", "id", "permissions"]);
    assertProblem(await send(admin, "POST", "/api/groups", { name: "ok", description: "x".repeat(1001) }), 400, ["description"]);
    assert.deepEqual((await admin.json("/api/groups?q=ok")).body.items, [], "nothing written");
  });

  test("renames, describes and sets permissions; a taken name is 409 and the old name is freed", async () => {
    const id = await createGroup(admin, "rename/old");
    await createGroup(admin, "rename/taken");
    const taken = await send(admin, "PATCH", `/api/groups/${id}`, { name: "rename/taken" });
    assertProblem(taken, 409);
    const patched = await send(admin, "PATCH", `/api/groups/${id}`, { name: "rename/new", description: "Renamed", permissions: ["admin"] });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(patched.body, { id, name: "rename/new", description: "Renamed", permissions: ["admin"] });
    assert.deepEqual((await admin.json(`/api/groups/${id}`)).body, patched.body);
    assert.equal((await send(admin, "POST", "/api/groups", { name: "rename/old" })).status, 201, "the old name is free");
    assertProblem(await send(admin, "POST", "/api/groups", { name: "rename/new" }), 409);
    assertProblem(await send(admin, "PATCH", `/api/groups/${id}`, { name: "bad name", permissions: "admin" }), 400, ["name", "permissions"]);
  });

  test("deletes a group with its memberships", async () => {
    const id = await createGroup(admin, "doomed");
    await createUser({ login: "doomed-member" });
    assert.equal((await send(admin, "PUT", `/api/groups/${id}/members/doomed-member`)).status, 200);
    assert.deepEqual((await admin.json("/api/users/doomed-member")).body.groups, ["doomed"]);
    const deleted = await send(admin, "DELETE", `/api/groups/${id}`);
    assert.equal(deleted.status, 204);
    assert.equal(deleted.body, null);
    assertProblem(await admin.json(`/api/groups/${id}`), 404);
    assertProblem(await send(admin, "DELETE", `/api/groups/${id}`), 404);
    assertProblem(await admin.json(`/api/groups/${id}/members`), 404);
    assert.deepEqual((await admin.json("/api/users/doomed-member")).body.groups, []);
    assert.equal((await send(admin, "POST", "/api/groups", { name: "doomed" })).status, 201, "the name is free again");
  });

  test("answers 404 for an unknown group id, whatever its shape", async () => {
    for (const id of ["0000000000000000000000000000", "x".repeat(3000), "UPPER", "a%2Fb", "%00"]) {
      assertProblem(await admin.json(`/api/groups/${id}`), 404);
      assertProblem(await send(admin, "PATCH", `/api/groups/${id}`, { description: "x" }), 404);
      assertProblem(await send(admin, "DELETE", `/api/groups/${id}`), 404);
      assertProblem(await admin.json(`/api/groups/${id}/members`), 404);
      assertProblem(await send(admin, "PUT", `/api/groups/${id}/members/root`), 404);
      assertProblem(await send(admin, "DELETE", `/api/groups/${id}/members/root`), 404);
    }
  });

  test("lists groups by name, filtered by a case-sensitive prefix, page by page", async () => {
    const names = Array.from({ length: 5 }, (_, index) => `listing/g${index}`);
    await Promise.all(names.map((name) => createGroup(admin, name)));
    await createGroup(admin, "Listing/upper");
    const result = await pages("/api/groups?q=listing/", 2);
    assert.deepEqual(result.map((page) => page.length).slice(0, 3), [2, 2, 1]);
    assert.deepEqual(result.flat().map((group) => group.name), names);
    assert.ok(result.flat().every((group) => typeof group.id === "string" && Array.isArray(group.permissions)));
  });
});

describe("memberships", () => {
  let groupId: string;

  before(async () => {
    groupId = await createGroup(admin, "members/crew");
  });

  test("adds a member, idempotently, lists it with source manual, and removes it", async () => {
    await createUser({ login: "gina" });
    const added = await send(admin, "PUT", `/api/groups/${groupId}/members/gina`);
    assert.equal(added.status, 200);
    assert.deepEqual(added.body, { login: "gina", source: "manual" });
    assert.deepEqual((await send(admin, "PUT", `/api/groups/${groupId}/members/GINA`)).body, { login: "gina", source: "manual" });
    const listed = await admin.json(`/api/groups/${groupId}/members`);
    assert.deepEqual(listed.body, { items: [{ login: "gina", source: "manual" }], nextCursor: null });
    assert.deepEqual((await admin.json("/api/users/gina")).body.groups, ["members/crew"]);
    const removed = await send(admin, "DELETE", `/api/groups/${groupId}/members/gina`);
    assert.equal(removed.status, 204);
    assertProblem(await send(admin, "DELETE", `/api/groups/${groupId}/members/gina`), 404);
    assert.deepEqual((await admin.json(`/api/groups/${groupId}/members`)).body.items, []);
  });

  test("answers 404 for an unknown user", async () => {
    for (const login of ["nobody", "x".repeat(3000), "%C3%BC"]) {
      assertProblem(await send(admin, "PUT", `/api/groups/${groupId}/members/${login}`), 404);
      assertProblem(await send(admin, "DELETE", `/api/groups/${groupId}/members/${login}`), 404);
    }
  });

  test("allows manual edits of GitLab users while synchronization is off", async () => {
    assert.equal((await send(admin, "PUT", `/api/groups/${groupId}/members/bob`)).status, 200);
    assert.deepEqual((await member.json("/api/me")).body.groups, ["members/crew"]);
    assert.equal((await send(admin, "DELETE", `/api/groups/${groupId}/members/bob`)).status, 204);
  });

  test("grants the permissions of a group to its members, visible in /api/me", async () => {
    const admins = await createGroup(admin, "members/admins", ["admin"]);
    assert.equal((await member.json("/api/users")).status, 403);
    assert.equal((await send(admin, "PUT", `/api/groups/${admins}/members/bob`)).status, 200);
    const me = await member.json("/api/me");
    assert.deepEqual(me.body.permissions, ["admin"]);
    assert.deepEqual(me.body.groups, ["members/admins"]);
    assert.equal((await member.json("/api/users")).status, 200, "bob administers through the group");
    assert.deepEqual((await admin.json("/api/users/bob")).body.permissions, [], "not held directly");

    // Taking the permission from the group takes it from its members.
    assert.equal((await send(admin, "PATCH", `/api/groups/${admins}`, { permissions: [] })).status, 200);
    assert.deepEqual((await member.json("/api/me")).body.permissions, []);
    assert.equal((await member.json("/api/users")).status, 403);
    assert.equal((await send(admin, "PATCH", `/api/groups/${admins}`, { permissions: ["admin"] })).status, 200);
    assert.equal((await member.json("/api/users")).status, 200);
    assert.equal((await send(admin, "DELETE", `/api/groups/${admins}/members/bob`)).status, 204);
    assert.equal((await member.json("/api/users")).status, 403);
  });

  test("lists members page by page", async () => {
    const id = await createGroup(admin, "members/many");
    const logins = Array.from({ length: 7 }, (_, index) => `crew-${index}`);
    await Promise.all(logins.map((login) => createUser({ login })));
    for (const login of logins) assert.equal((await send(admin, "PUT", `/api/groups/${id}/members/${login}`)).status, 200);
    const result = await pages(`/api/groups/${id}/members`, 3);
    assert.deepEqual(result.map((page) => page.length).slice(0, 3), [3, 3, 1]);
    assert.deepEqual(result.flat().map((item) => item.login).sort(), logins);
    // A cursor belongs to its group.
    const first = await admin.json(`/api/groups/${id}/members?limit=3`);
    assertProblem(await admin.json(`/api/groups/${groupId}/members?cursor=${first.body.nextCursor}`), 400, ["cursor"]);
  });
});

describe("audit listing", () => {
  test("lists events newest first, page by page, without repeating one", async () => {
    const result = await pages("/api/audit", 4);
    const events = result.flat();
    assert.ok(events.length > 8, `enough events to page: ${events.length}`);
    assert.equal(new Set(events.map((event) => event.id)).size, events.length);
    const times = events.map((event) => event.at);
    assert.deepEqual(times, [...times].sort().reverse());
    assert.ok(events.some((event) => event.type === "group.created" && event.actor.login === "root"));
  });

  test("filters by type and by login", async () => {
    const created = await listAll(admin, "/api/audit?type=user.created");
    assert.ok(created.length >= 5);
    assert.ok(created.every((event) => event.type === "user.created"));
    const carol = await listAll(admin, "/api/audit?login=carol");
    assert.ok(carol.length >= 1);
    assert.ok(carol.every((event) => event.login === "carol"));
  });
});

describe("pagination parameters", () => {
  const listings = ["/api/users", "/api/groups", "/api/audit"];

  test("limit must be an integer from 1 to 100", async () => {
    for (const path of listings) {
      for (const limit of ["0", "101", "-1", "abc", "1.5", "1e2", " 5"]) {
        assertProblem(await admin.json(`${path}?limit=${encodeURIComponent(limit)}`), 400, ["limit"]);
      }
      assert.equal((await admin.json(`${path}?limit=100`)).status, 200);
    }
  });

  test("a cursor that this listing did not return is 400", async () => {
    const groupId = await createGroup(admin, "cursor/check");
    const members = `/api/groups/${groupId}/members`;
    const usersCursor = (await admin.json("/api/users?limit=1")).body.nextCursor;
    const groupsCursor = (await admin.json("/api/groups?limit=1")).body.nextCursor;
    assert.ok(usersCursor !== null && groupsCursor !== null);
    const forged = [
      "not a cursor",
      "!!!",
      "x".repeat(3000),
      cursorOf({}),
      cursorOf([]),
      cursorOf("USERS"),
      cursorOf({ gsi1pk: "USERS" }),
      cursorOf({ gsi1pk: "USERS", gsi1sk: "a" }),
      cursorOf({ gsi1pk: "GROUPS", gsi1sk: "a", pk: "x" }),
      cursorOf({ gsi1pk: "USERS", gsi1sk: "a", pk: "x", sk: 5 }),
      cursorOf({ gsi1pk: "USERS", gsi1sk: "a", pk: "x", sk: "y", extra: "z" }),
      cursorOf({ pk: "AUDIT" }),
      cursorOf({ sk: "not-a-position" }),
    ];
    for (const path of [...listings, members]) {
      for (const cursor of forged) assertProblem(await admin.json(`${path}?cursor=${encodeURIComponent(cursor)}`), 400, ["cursor"]);
    }
    assertProblem(await admin.json(`/api/groups?cursor=${usersCursor}`), 400, ["cursor"]);
    assertProblem(await admin.json(`/api/users?cursor=${groupsCursor}`), 400, ["cursor"]);
    assertProblem(await admin.json(`${members}?cursor=${usersCursor}`), 400, ["cursor"]);
    assertProblem(await admin.json(`/api/audit?cursor=${usersCursor}`), 400, ["cursor"]);
  });
});

describe("request bodies", () => {
  const bodyRoutes = [
    { method: "POST", path: () => "/api/users", required: ["login"] },
    { method: "PATCH", path: () => "/api/users/carol", required: [] },
    { method: "POST", path: () => "/api/groups", required: ["name"] },
    { method: "PATCH", path: () => `/api/groups/${groupForBodies}`, required: [] },
    { method: "POST", path: () => "/api/tokens", required: ["name"] },
  ];
  let groupForBodies: string;

  before(async () => {
    groupForBodies = await createGroup(admin, "bodies/target");
  });

  for (const route of bodyRoutes) {
    test(`${route.method} ${route.path()}: 415 without JSON, 400 for a malformed or non-object body, 413 when too large`, async () => {
      for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]) {
        const raw = await admin.fetch(route.path(), { method: route.method, body: "{}", headers: contentType === "" ? {} : { "content-type": contentType } });
        assert.equal(raw.status, 415, `content type ${JSON.stringify(contentType)}`);
        assert.match(raw.headers.get("content-type")!, /problem\+json/);
      }
      for (const body of ["", "{", "not json", "[]", "null", "42", '"text"', "[{}]"]) {
        const raw = await admin.fetch(route.path(), { method: route.method, body, headers: { "content-type": "application/json" } });
        assert.equal(raw.status, 400, `body ${JSON.stringify(body)}`);
        assert.match(raw.headers.get("content-type")!, /problem\+json/);
      }
      const unknown = await admin.json(route.path(), { method: route.method, body: JSON.stringify({ unexpected: 1 }) });
      assertProblem(unknown, 400, ["unexpected", ...route.required]);
      const large = await admin.fetch(route.path(), { method: route.method, body: JSON.stringify({ name: "x".repeat(70 * 1024) }), headers: { "content-type": "application/json" } });
      assert.equal(large.status, 413);
    });
  }

  test("accepts application/json with a charset and +json types", async () => {
    for (const contentType of ["application/json; charset=utf-8", "application/merge-patch+json"]) {
      const response = await admin.fetch("/api/users/carol", { method: "PATCH", body: JSON.stringify({ name: "Carol" }), headers: { "content-type": contentType } });
      assert.equal(response.status, 200, contentType);
    }
  });
});

describe("unknown routes and methods", () => {
  test("answers 404 for an unknown path and 405 for an unsupported method", async () => {
    assertProblem(await admin.json("/api/nothing-here"), 404);
    assertProblem(await admin.json("/api/users/root/extra"), 404);
    assertProblem(await send(admin, "DELETE", "/api/users/root"), 405);
    assertProblem(await send(admin, "PUT", "/api/groups"), 405);
    assertProblem(await send(admin, "PATCH", "/api/tokens"), 405);
  });
});
