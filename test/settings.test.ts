import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { applicationSecret, startStack } from "./support/stack.js";
import type { Stack } from "./support/stack.js";
import type { Browser } from "./support/browser.js";

let stack: Stack;
let admin: Browser;
let member: Browser;

function patch(browser: Browser, body: unknown, headers: Record<string, string> = {}) {
  return browser.json("/api/settings/gitlab", { method: "PATCH", body: JSON.stringify(body), headers });
}

before(async () => {
  stack = await startStack({
    users: [
      { id: 1, username: "root", name: "Root", email: "root@example.com" },
      { id: 2, username: "bob", name: "Bob", email: "bob@example.com" },
    ],
    env: { INITIAL_ADMINS: "root" },
  });
  admin = stack.browser();
  assert.equal((await admin.signIn("root")).response.status, 302);
  member = stack.browser();
  assert.equal((await member.signIn("bob")).response.status, 302);
});
after(() => stack.close());

describe("GET /api/settings/gitlab", () => {
  test("shows the initial settings from the environment with an ETag, never the secret", async () => {
    const { status, body, response } = await admin.json("/api/settings/gitlab");
    assert.equal(status, 200);
    assert.deepEqual(body, {
      enabled: true,
      url: stack.gitlab.url,
      applicationId: "test-app",
      secretConfigured: true,
      synchronizeGroups: false,
      allowUsersToSignUp: true,
      allowedGroups: [],
    });
    assert.match(response.headers.get("etag")!, /^"\d+"$/);
    assert.equal(response.headers.get("cache-control"), "no-store");
  });

  test("is 401 without a session and 403 without Administer System", async () => {
    const anonymous = await fetch(`${stack.url}/api/settings/gitlab`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get("content-type")!, /application\/problem\+json/);
    assert.equal((await member.json("/api/settings/gitlab")).status, 403);
    assert.equal((await patch(member, { synchronizeGroups: true })).status, 403);
  });
});

describe("PATCH /api/settings/gitlab", () => {
  test("names every bad field and saves nothing", async () => {
    const before = await admin.json("/api/settings/gitlab");
    const { status, body } = await patch(admin, {
      enabled: "yes",
      url: "ftp://gitlab.example.com",
      allowedGroups: ["good/path", "bad//path", "bad path"],
      synchronizeGroups: true,
      colour: "blue",
    });
    assert.equal(status, 400);
    assert.deepEqual(body.errors.map((error: { field: string }) => error.field).sort(), ["allowedGroups", "colour", "enabled", "url"]);
    assert.equal(body.status, 400);
    const afterwards = await admin.json("/api/settings/gitlab");
    assert.deepEqual(afterwards.body, before.body, "nothing saved, synchronizeGroups included");
    assert.equal(afterwards.response.headers.get("etag"), before.response.headers.get("etag"));
  });

  test("refuses bodies that are not JSON objects", async () => {
    for (const body of ["[]", "null", "42", "{", ""]) {
      const response = await admin.fetch("/api/settings/gitlab", { method: "PATCH", body, headers: { "content-type": "application/json" } });
      assert.equal(response.status, 400, body);
    }
    const wrongType = await admin.fetch("/api/settings/gitlab", { method: "PATCH", body: "allowUsersToSignUp=false", headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.equal(wrongType.status, 415);
  });

  test("strips a trailing slash from the URL and never returns the secret", async () => {
    const url = `${stack.gitlab.url}/`;
    const { status, body, response } = await patch(admin, { url, secret: applicationSecret });
    assert.equal(status, 200);
    assert.equal(body.url, stack.gitlab.url);
    assert.equal(body.secretConfigured, true);
    assert.equal(JSON.stringify(body).includes(applicationSecret), false);
    assert.match(response.headers.get("etag")!, /^"\d+"$/);
  });

  test("refuses a stale If-Match with 412 and saves nothing; a current one succeeds", async () => {
    const current = await admin.json("/api/settings/gitlab");
    const etag = current.response.headers.get("etag")!;
    const first = await patch(admin, { allowedGroups: ["acme"] }, { "if-match": etag });
    assert.equal(first.status, 200);
    assert.notEqual(first.response.headers.get("etag"), etag);
    const stale = await patch(admin, { allowedGroups: ["other"] }, { "if-match": etag });
    assert.equal(stale.status, 412);
    assert.deepEqual((await admin.json("/api/settings/gitlab")).body.allowedGroups, ["acme"]);
    const weakAndListed = `"999", W/${first.response.headers.get("etag")!}`;
    const reset = await patch(admin, { allowedGroups: [] }, { "if-match": weakAndListed });
    assert.equal(reset.status, 200, "a weak tag in a list matches");
    assert.equal((await patch(admin, { allowedGroups: [] }, { "if-match": "*" })).status, 200);
  });

  test("refuses a cookie-authenticated change without our Origin", async () => {
    for (const origin of [null, "https://evil.example", "http://127.0.0.1:1"]) {
      const { status } = await admin.json("/api/settings/gitlab", { method: "PATCH", body: JSON.stringify({ allowUsersToSignUp: false }), origin });
      assert.equal(status, 403, String(origin));
    }
    assert.equal((await admin.json("/api/settings/gitlab")).body.allowUsersToSignUp, true);
  });

  test("cannot enable sign-in without an application id", async () => {
    const { status, body } = await patch(admin, { applicationId: "" });
    assert.equal(status, 400);
    assert.equal(body.errors[0].field, "enabled");
  });

  test("asks GitLab for read_api only when groups are needed, from the next sign-in on", async () => {
    const scope = async () => new URL((await stack.browser().fetch("/auth/gitlab/login")).headers.get("location")!).searchParams.get("scope");
    assert.equal(await scope(), "read_user");
    await patch(admin, { synchronizeGroups: true });
    assert.equal(await scope(), "read_api");
    await patch(admin, { synchronizeGroups: false, allowedGroups: ["acme"] });
    assert.equal(await scope(), "read_api");
    await patch(admin, { allowedGroups: [] });
    assert.equal(await scope(), "read_user");
  });

  test("disabling GitLab authentication shows a clear page at login", async () => {
    assert.equal((await patch(admin, { enabled: false })).status, 200);
    try {
      const response = await stack.browser().fetch("/auth/gitlab/login");
      assert.equal(response.status, 403);
      assert.match(response.headers.get("content-type")!, /text\/html/);
      assert.match(await response.text(), /GitLab authentication is disabled/);
    } finally {
      assert.equal((await patch(admin, { enabled: true })).status, 200);
    }
    assert.equal((await stack.browser().fetch("/auth/gitlab/login")).status, 302);
  });
});
