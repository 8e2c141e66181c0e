// The audit log: every provisioning event is recorded with its actor and time, listed newest
// first by cursor, filtered by type and user, and expires through TTL.
import assert from "node:assert/strict";
import { DescribeTimeToLiveCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { after, before, describe, test } from "node:test";
import { applicationSecret, startStack } from "./support/stack.js";
import type { Stack } from "./support/stack.js";
import type { Browser } from "./support/browser.js";

let stack: Stack;
let admin: Browser;
let nextId = 100;
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const retentionDays = 30;

interface Event {
  id: string;
  type: string;
  at: string;
  actor: { kind: string; login: string | null; tokenId?: string };
  login: string | null;
  details: Record<string, unknown>;
}

function gitlabUser(username: string, groups: string[] = []): number {
  const id = nextId++;
  stack.gitlab.upsertUser({ id, username, name: `${username} name`, email: `${username}@example.com`, groups });
  return id;
}

async function signIn(login: string): Promise<{ browser: Browser; status: number; body: string }> {
  const browser = stack.browser();
  const outcome = await browser.signIn(login);
  return { browser, status: outcome.response.status, body: outcome.body };
}

async function ok(result: Promise<{ status: number; body: any }>, status = 200): Promise<any> {
  const { status: actual, body } = await result;
  assert.equal(actual, status, JSON.stringify(body));
  return body;
}

async function events(query: Record<string, string> = {}): Promise<Event[]> {
  const body = await ok(admin.json(`/api/audit?${new URLSearchParams({ limit: "100", ...query })}`));
  return body.items;
}

/** The newest event of a type about a login. */
async function latest(type: string, login?: string): Promise<Event> {
  const found = await events({ type, ...(login !== undefined && { login }) });
  assert.ok(found.length > 0, `no ${type} event${login === undefined ? "" : ` for ${login}`}`);
  return found[0]!;
}

function assertRecent(event: Event): void {
  const age = Date.now() - Date.parse(event.at);
  assert.ok(age >= 0 && age < 60_000, `event time ${event.at} is now`);
}

async function createGroup(name: string): Promise<string> {
  return (await ok(admin.json("/api/groups", { method: "POST", body: JSON.stringify({ name }) }), 201)).id;
}

async function patchSettings(change: Record<string, unknown>): Promise<void> {
  await ok(admin.json("/api/settings/gitlab", { method: "PATCH", body: JSON.stringify(change) }));
}

before(async () => {
  stack = await startStack({
    users: [{ id: 1, username: "root", name: "Root", email: "root@example.com" }],
    env: { INITIAL_ADMINS: "root", AUDIT_RETENTION_DAYS: String(retentionDays) },
  });
  const signedIn = await signIn("root");
  assert.equal(signedIn.status, 302);
  admin = signedIn.browser;
});
after(() => stack.close());

describe("recorded events", () => {
  test("records a sign-up by GitLab and a user created by an administrator, with their actors", async () => {
    const gitlabId = gitlabUser("ann");
    assert.equal((await signIn("ann")).status, 302);
    const signUp = await latest("user.created", "ann");
    assert.deepEqual(signUp.actor, { kind: "gitlab", login: null });
    assert.deepEqual(signUp.details, { source: "gitlab", gitlabId, permissions: [] });
    assertRecent(signUp);

    await ok(admin.json("/api/users", { method: "POST", body: JSON.stringify({ login: "ben", name: "Ben" }) }), 201);
    const created = await latest("user.created", "ben");
    assert.deepEqual(created.actor, { kind: "user", login: "root" });
    assert.equal(created.details.source, "api");
  });

  test("records linking an unlinked user at first sign-in, and a rename from GitLab", async () => {
    await ok(admin.json("/api/users", { method: "POST", body: JSON.stringify({ login: "cleo" }) }), 201);
    const gitlabId = gitlabUser("cleo");
    assert.equal((await signIn("cleo")).status, 302);
    const linked = await latest("user.linked", "cleo");
    assert.deepEqual(linked.actor, { kind: "gitlab", login: null });
    assert.equal(linked.details.gitlabId, gitlabId);

    stack.gitlab.upsertUser({ id: gitlabId, username: "cleo-renamed", name: "cleo name", email: "cleo@example.com" });
    assert.equal((await signIn("cleo-renamed")).status, 302);
    const renamed = await latest("user.renamed", "cleo-renamed");
    assert.deepEqual(renamed.details, { from: "cleo", to: "cleo-renamed" });
  });

  test("records deactivation, the refused sign-in that follows with its reason, and reactivation", async () => {
    gitlabUser("dora");
    assert.equal((await signIn("dora")).status, 302);
    await ok(admin.json("/api/users/dora", { method: "PATCH", body: JSON.stringify({ active: false }) }));
    const deactivated = await latest("user.deactivated", "dora");
    assert.deepEqual(deactivated.actor, { kind: "user", login: "root" });

    assert.equal((await signIn("dora")).status, 403);
    const refused = await latest("signin.refused", "dora");
    assert.equal(refused.details.reason, "deactivated");
    assert.deepEqual(refused.actor, { kind: "gitlab", login: null });

    await ok(admin.json("/api/users/dora", { method: "PATCH", body: JSON.stringify({ active: true }) }));
    await latest("user.reactivated", "dora");
  });

  test("records a sign-up refused while sign-up is blocked", async () => {
    gitlabUser("eve");
    await patchSettings({ allowUsersToSignUp: false });
    try {
      const outcome = await signIn("eve");
      assert.equal(outcome.status, 403);
      assert.match(outcome.body, /not allowed to sign up/);
    } finally {
      await patchSettings({ allowUsersToSignUp: true });
    }
    const refused = await latest("signin.refused", "eve");
    assert.equal(refused.details.reason, "signup_blocked");
  });

  test("records groups created and deleted, and manual memberships added and removed with their source", async () => {
    const groupId = await createGroup("audit/manual");
    assert.deepEqual((await latest("group.created")).details.group, "audit/manual");
    await ok(admin.json(`/api/groups/${groupId}/members/ben`, { method: "PUT" }));
    const added = await latest("membership.added", "ben");
    assert.deepEqual(added.details, { group: "audit/manual", source: "manual" });
    assert.deepEqual(added.actor, { kind: "user", login: "root" });
    await ok(admin.json(`/api/groups/${groupId}/members/ben`, { method: "DELETE" }), 204);
    const removed = await latest("membership.removed", "ben");
    assert.deepEqual(removed.details, { group: "audit/manual", source: "manual" });

    await ok(admin.json(`/api/groups/${groupId}`, { method: "DELETE" }), 204);
    const deleted = await latest("group.deleted");
    assert.equal(deleted.details.group, "audit/manual");
    assert.deepEqual(deleted.actor, { kind: "user", login: "root" });
  });

  test("records each membership synchronization changes at sign-in, by GitLab, with the source of what it removed", async () => {
    const synced = await createGroup("acme/dev");
    const manual = await createGroup("acme-manual");
    gitlabUser("finn", ["acme/dev"]);
    assert.equal((await signIn("finn")).status, 302);
    await ok(admin.json(`/api/groups/${manual}/members/finn`, { method: "PUT" }));

    await patchSettings({ synchronizeGroups: true });
    try {
      assert.equal((await signIn("finn")).status, 302);
    } finally {
      await patchSettings({ synchronizeGroups: false });
    }
    const added = await latest("membership.added", "finn");
    assert.deepEqual(added.actor, { kind: "gitlab", login: null });
    assert.deepEqual(added.details, { group: "acme/dev", source: "gitlab" });
    const removed = await latest("membership.removed", "finn");
    assert.deepEqual(removed.actor, { kind: "gitlab", login: null });
    assert.deepEqual(removed.details, { group: "acme-manual", source: "manual" }, "the reset manual membership");
    assert.deepEqual((await ok(admin.json(`/api/groups/${synced}/members`))).items, [{ login: "finn", source: "gitlab" }]);
  });

  test("records the names of changed settings and never the secret's value", async () => {
    const secret = "a-new-secret-value-that-must-not-leak";
    await patchSettings({ secret, allowedGroups: [], synchronizeGroups: false });
    const changed = await latest("settings.changed");
    assert.deepEqual(changed.details, { fields: ["secret"] }, "unchanged fields are not named");
    assert.deepEqual(changed.actor, { kind: "user", login: "root" });
    const listing = await (await admin.fetch("/api/audit?limit=100")).text();
    assert.ok(!listing.includes(secret), "the new secret is not in the audit log");
    assert.ok(!listing.includes(applicationSecret), "the old secret is not in the audit log");
    await patchSettings({ secret: applicationSecret });
  });

  test("records tokens created and revoked, and what a token does is attributed to it", async () => {
    const created = await ok(admin.json("/api/tokens", { method: "POST", body: JSON.stringify({ name: "ci" }) }), 201);
    const createdEvent = await latest("token.created", "root");
    assert.deepEqual(createdEvent.details, { tokenId: created.id, name: "ci" });
    assert.ok(!JSON.stringify(await events()).includes(created.token), "the token value is never recorded");

    const response = await fetch(`${stack.url}/api/groups`, {
      method: "POST",
      headers: { authorization: `Bearer ${created.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "by-token" }),
    });
    assert.equal(response.status, 201);
    const byToken = await latest("group.created");
    assert.deepEqual(byToken.actor, { kind: "token", login: "root", tokenId: created.id });

    await ok(admin.json(`/api/tokens/${created.id}`, { method: "DELETE" }), 204);
    const revoked = await latest("token.revoked", "root");
    assert.deepEqual(revoked.details, { tokenId: created.id, name: "ci" });
  });
});

describe("listing", () => {
  test("lists every event newest first, page by page, without repeats or gaps", async () => {
    const all = await events();
    assert.ok(all.length >= 20, `${all.length} events`);
    for (let index = 1; index < all.length; index++) {
      assert.ok(all[index - 1]!.at >= all[index]!.at, "newest first");
    }
    const paged: Event[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: Record<string, string> = { limit: "8", ...(cursor !== null && { cursor }) };
      const page: { items: Event[]; nextCursor: string | null } = await ok(admin.json(`/api/audit?${new URLSearchParams(query)}`));
      assert.ok(page.items.length <= 8);
      paged.push(...page.items);
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 100);
    assert.deepEqual(
      paged.map((event) => event.id),
      all.map((event) => event.id),
    );
  });

  test("filters by type and by user, alone and together, across pages", async () => {
    const created = await events({ type: "user.created" });
    assert.ok(created.length >= 3);
    assert.ok(created.every((event) => event.type === "user.created"));

    const dora = await events({ login: "DORA" });
    assert.deepEqual(
      dora.map((event) => event.type),
      ["user.reactivated", "signin.refused", "user.deactivated", "user.created"],
      "logins match case-insensitively",
    );
    const firstPage = await ok(admin.json("/api/audit?login=dora&type=signin.refused&limit=1"));
    assert.equal(firstPage.items.length, 1);
    assert.equal(firstPage.items[0].type, "signin.refused");
    assert.equal(firstPage.nextCursor, null, "one refusal, so no next page");

    const first = await ok(admin.json("/api/audit?type=user.created&limit=1"));
    const second = await ok(admin.json(`/api/audit?type=user.created&limit=1&cursor=${first.nextCursor}`));
    assert.equal(second.items[0].id, created[1]!.id);
  });

  test("refuses an unknown type, a forged cursor and a bad limit with problem details", async () => {
    const unknownType = await admin.json("/api/audit?type=user.exploded");
    assert.equal(unknownType.status, 400);
    assert.equal(unknownType.body.errors[0].field, "type");
    assert.match(unknownType.response.headers.get("content-type")!, /application\/problem\+json/);
    const forged = Buffer.from(JSON.stringify({ pk: "USER#x", sk: "PROFILE" })).toString("base64url");
    for (const cursor of [forged, "not a cursor", Buffer.from(JSON.stringify({ sk: "PROFILE" })).toString("base64url")]) {
      const result = await admin.json(`/api/audit?cursor=${encodeURIComponent(cursor)}`);
      assert.equal(result.status, 400, cursor);
      assert.equal(result.body.errors[0].field, "cursor");
    }
    assert.equal((await admin.json("/api/audit?limit=0")).status, 400);
    assert.equal((await admin.json("/api/audit?limit=101")).status, 400);
  });

  test("is for administrators only", async () => {
    assert.equal((await stack.browser().json("/api/audit")).status, 401);
    const member = await signIn("ann");
    assert.equal((await member.browser.json("/api/audit")).status, 403);
  });
});

describe("retention", () => {
  test("sets the TTL attribute AUDIT_RETENTION_DAYS after the event, and the table expires items by it", async () => {
    const result = await client.send(
      new QueryCommand({ TableName: stack.tableName, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": "AUDIT#user.deactivated" } }),
    );
    const item = result.Items?.[0];
    assert.ok(item !== undefined);
    assert.equal(item.expiresAt, Math.floor(Date.parse(item.at) / 1000) + retentionDays * 86400);
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: stack.tableName }));
    assert.equal(ttl.TimeToLiveDescription?.AttributeName, "expiresAt");
  });

  test("leaves out events past their expiry that TTL has not deleted yet", async () => {
    const { auditItem } = await import("../lib/audit.js");
    const old = auditItem("user.updated", { kind: "user", login: "root" }, "gus", { fields: ["name"] }, new Date(Date.now() - (retentionDays + 1) * 86400_000));
    const recent = auditItem("user.updated", { kind: "user", login: "root" }, "gus", { fields: ["email"] }, new Date(Date.now() - 86400_000));
    for (const item of [old, recent]) await client.send(new PutCommand({ TableName: stack.tableName, Item: item }));
    const listed = await events({ login: "gus" });
    assert.deepEqual(
      listed.map((event) => event.id),
      [recent.id],
    );
    assert.ok(!(await events({ type: "user.updated" })).some((event) => event.id === old.id));
  });
});
