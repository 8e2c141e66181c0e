import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startStack } from "./support/stack.js";
import type { Stack } from "./support/stack.js";

let stack: Stack;
let nextId = 5000;

function newGitLabUser(username: string, extra: { email?: string; state?: string; groups?: string[] } = {}): { id: number; username: string } {
  const id = nextId++;
  stack.gitlab.upsertUser({ id, username, name: `${username} name`, email: extra.email ?? `${username}@example.com`, state: extra.state ?? "active", groups: extra.groups ?? [] });
  return { id, username };
}

async function adminBrowser() {
  const browser = stack.browser();
  const outcome = await browser.signIn("root");
  assert.equal(outcome.response.status, 302);
  return browser;
}

before(async () => {
  stack = await startStack({
    users: [{ id: 1, username: "root", name: "Root", email: "root@example.com" }],
    env: { INITIAL_ADMINS: "root" },
  });
});
after(() => stack.close());

describe("login redirect", () => {
  test("redirects to GitLab's authorize endpoint with PKCE, one-time state and the exact redirect URI", async () => {
    const browser = stack.browser();
    const response = await browser.fetch("/auth/gitlab/login?return_to=/projects");
    assert.equal(response.status, 302);
    const location = new URL(response.headers.get("location")!);
    assert.equal(location.origin + location.pathname, `${stack.gitlab.url}/oauth/authorize`);
    assert.equal(location.searchParams.get("client_id"), "test-app");
    assert.equal(location.searchParams.get("redirect_uri"), `${stack.url}/auth/gitlab/callback`);
    assert.equal(location.searchParams.get("response_type"), "code");
    assert.equal(location.searchParams.get("code_challenge_method"), "S256");
    assert.match(location.searchParams.get("code_challenge")!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(location.searchParams.get("scope"), "read_user");
    const state = location.searchParams.get("state")!;
    assert.ok(Buffer.from(state, "base64url").length >= 16, "state carries at least 128 bits");
    const setCookie = response.headers.getSetCookie().join("\n");
    assert.match(setCookie, /gitlab_oauth_state=[^;]+; Path=\/auth\/gitlab\/callback; SameSite=Lax; HttpOnly; Max-Age=600/);
    assert.doesNotMatch(setCookie, /Domain=/i);
    const second = new URL((await stack.browser().fetch("/auth/gitlab/login")).headers.get("location")!);
    assert.notEqual(second.searchParams.get("state"), state);
  });

  test("sends the PKCE verifier at the token exchange, and GitLab checks it", async () => {
    newGitLabUser("pkce-user");
    const outcome = await stack.browser().signIn("pkce-user");
    assert.equal(outcome.response.status, 302);
    const tokenRequest = stack.gitlab.lastTokenRequest();
    assert.ok(tokenRequest);
    assert.match(tokenRequest.params.code_verifier ?? "", /^[A-Za-z0-9_-]{43,128}$/);
    assert.equal(tokenRequest.params.redirect_uri, `${stack.url}/auth/gitlab/callback`);
  });
});

describe("callback", () => {
  test("creates a user at first sign-in, sets a hardened session cookie and lands on return_to", async () => {
    const { id } = newGitLabUser("alice");
    const browser = stack.browser();
    const outcome = await browser.signIn("alice", "/projects/42?tab=1");
    assert.equal(outcome.response.status, 302);
    assert.equal(outcome.response.headers.get("location"), "/projects/42?tab=1");
    const cookies = outcome.response.headers.getSetCookie();
    const session = cookies.find((cookie) => cookie.startsWith("session="))!;
    assert.match(session, /^session=[A-Za-z0-9_-]{43,}; Path=\/; SameSite=Lax; HttpOnly; Max-Age=\d+$/);
    assert.ok(cookies.some((cookie) => cookie.startsWith("gitlab_oauth_state=;") && cookie.includes("Max-Age=0")), "state cookie cleared");
    const me = await browser.json("/api/me");
    assert.equal(me.status, 200);
    assert.deepEqual(me.body, { login: "alice", name: "alice name", email: "alice@example.com", gitlabId: id, active: true, permissions: [], groups: [] });
  });

  test("refuses a replayed state", async () => {
    newGitLabUser("replayer");
    const browser = stack.browser();
    const authorize = await browser.startSignIn();
    const callback = await browser.approveAtGitLab(authorize, "replayer");
    const stateCookie = browser.cookies.get("gitlab_oauth_state")!.value;
    const first = await browser.fetch(callback.pathname + callback.search);
    assert.equal(first.status, 302);
    browser.cookies.set("gitlab_oauth_state", { value: stateCookie, path: "/auth/gitlab/callback" });
    browser.cookies.delete("session");
    const replay = await browser.fetch(callback.pathname + callback.search);
    assert.equal(replay.status, 400);
    assert.equal(replay.headers.get("referrer-policy"), "no-referrer");
    assert.match(replay.headers.get("content-type")!, /text\/html/);
    assert.match(await replay.text(), /expired or was already used/);
    assert.equal(browser.sessionToken(), null);
  });

  test("refuses a missing or tampered state cookie", async () => {
    newGitLabUser("tamper");
    for (const cookieValue of [null, "tampered-value"]) {
      const browser = stack.browser();
      const authorize = await browser.startSignIn();
      const callback = await browser.approveAtGitLab(authorize, "tamper");
      if (cookieValue === null) browser.cookies.delete("gitlab_oauth_state");
      else browser.cookies.set("gitlab_oauth_state", { value: cookieValue, path: "/auth/gitlab/callback" });
      const response = await browser.fetch(callback.pathname + callback.search);
      assert.equal(response.status, 400);
      assert.equal(browser.sessionToken(), null);
      assert.equal(response.headers.getSetCookie().some((cookie) => cookie.startsWith("session=")), false);
    }
  });

  test("refuses a state from another browser", async () => {
    newGitLabUser("victim");
    const attacker = stack.browser();
    const callback = await attacker.approveAtGitLab(await attacker.startSignIn(), "victim");
    const victim = stack.browser();
    await victim.startSignIn();
    const response = await victim.fetch(callback.pathname + callback.search);
    assert.equal(response.status, 400);
  });

  test("shows a clear page when the user denies consent at GitLab", async () => {
    const browser = stack.browser();
    const authorize = await browser.startSignIn();
    authorize.searchParams.set("deny", "1");
    const denied = await fetch(authorize, { redirect: "manual" });
    const callback = new URL(denied.headers.get("location")!);
    assert.equal(callback.searchParams.get("error"), "access_denied");
    const response = await browser.fetch(callback.pathname + callback.search);
    assert.equal(response.status, 403);
    assert.match(await response.text(), /GitLab did not grant access/);
  });

  test("answers 502 with a page when GitLab fails", async () => {
    newGitLabUser("unlucky");
    stack.gitlab.setFault("user", { status: 500 });
    try {
      const outcome = await stack.browser().signIn("unlucky");
      assert.equal(outcome.response.status, 502);
      assert.match(outcome.body, /GitLab/);
    } finally {
      stack.gitlab.clearFaults();
    }
    const admin = await adminBrowser();
    const users = await admin.json("/api/users?q=unlucky");
    assert.equal(users.status, 200);
    assert.equal(users.body.items.length, 0, "nothing written");
  });
});

describe("open redirects", () => {
  for (const target of ["//evil.example", "https://evil.example/x", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)", "/%5Cevil.example", "evil", "/\tevil", "%2F%2Fevil.example"]) {
    test(`sends ${JSON.stringify(target)} to /`, async () => {
      newGitLabUser(`redirect-${nextId}`);
      const login = `redirect-${nextId - 1}`;
      const outcome = await stack.browser().signIn(login, target);
      assert.equal(outcome.response.status, 302);
      const location = outcome.response.headers.get("location")!;
      assert.ok(location === "/" || (location.startsWith("/") && !location.startsWith("//") && !location.includes("\\")), location);
      assert.equal(new URL(location, "https://service.example").origin, "https://service.example");
    });
  }
});

describe("sign-in rules", () => {
  test("refuses an unknown user when sign-up is blocked, and writes nothing", async () => {
    const admin = await adminBrowser();
    assert.equal((await admin.json("/api/settings/gitlab", { method: "PATCH", body: JSON.stringify({ allowUsersToSignUp: false }) })).status, 200);
    try {
      newGitLabUser("stranger");
      const outcome = await stack.browser().signIn("stranger");
      assert.equal(outcome.response.status, 403);
      assert.match(outcome.body, /not allowed to sign up/);
      assert.equal(outcome.response.headers.getSetCookie().some((cookie) => cookie.startsWith("session=")), false);
      assert.equal((await admin.json("/api/users/stranger")).status, 404);
    } finally {
      await admin.json("/api/settings/gitlab", { method: "PATCH", body: JSON.stringify({ allowUsersToSignUp: true }) });
    }
    const later = await stack.browser().signIn("stranger");
    assert.equal(later.response.status, 302, "allowed once sign-up is allowed again");
  });

  test("links a pre-provisioned user by login while sign-up is blocked", async () => {
    const admin = await adminBrowser();
    const created = await admin.json("/api/users", { method: "POST", body: JSON.stringify({ login: "prepared", name: "Prepared" }) });
    assert.equal(created.status, 201);
    assert.equal(created.body.gitlabId, null);
    await admin.json("/api/settings/gitlab", { method: "PATCH", body: JSON.stringify({ allowUsersToSignUp: false }) });
    try {
      const { id } = newGitLabUser("prepared");
      const browser = stack.browser();
      const outcome = await browser.signIn("prepared");
      assert.equal(outcome.response.status, 302);
      const me = await browser.json("/api/me");
      assert.equal(me.body.gitlabId, id);
      assert.equal(me.body.name, "prepared name");
      const user = await admin.json("/api/users/prepared");
      assert.equal(user.body.source, "api");
      assert.equal(user.body.gitlabId, id);
    } finally {
      await admin.json("/api/settings/gitlab", { method: "PATCH", body: JSON.stringify({ allowUsersToSignUp: true }) });
    }
  });

  test("follows a GitLab username, name and email change by id", async () => {
    const { id } = newGitLabUser("oldname");
    const browser = stack.browser();
    await browser.signIn("oldname");
    stack.gitlab.upsertUser({ id, username: "newname", name: "New Name", email: "new@example.com" });
    const again = stack.browser();
    assert.equal((await again.signIn("newname")).response.status, 302);
    const me = await again.json("/api/me");
    assert.equal(me.body.login, "newname");
    assert.equal(me.body.email, "new@example.com");
    assert.equal(me.body.gitlabId, id);
    const admin = await adminBrowser();
    assert.equal((await admin.json("/api/users/oldname")).status, 404);
    // The old login and email are free again.
    assert.equal((await admin.json("/api/users", { method: "POST", body: JSON.stringify({ login: "oldname", email: "oldname@example.com" }) })).status, 201);
  });

  test("refuses a rename onto another user's login and changes nothing", async () => {
    const owner = newGitLabUser("taken-login");
    await stack.browser().signIn("taken-login");
    // GitLab frees the username; the local user keeps it until its next sign-in.
    stack.gitlab.upsertUser({ id: owner.id, username: "moved-on", name: "Owner", email: "taken-login@example.com" });
    const { id } = newGitLabUser("renamer");
    await stack.browser().signIn("renamer");
    stack.gitlab.upsertUser({ id, username: "TAKEN-login", name: "Renamer", email: "renamer2@example.com" });
    const outcome = await stack.browser().signIn("TAKEN-login");
    assert.equal(outcome.response.status, 403);
    assert.match(outcome.body, /already used by another account/);
    const admin = await adminBrowser();
    const renamer = await admin.json("/api/users/renamer");
    assert.equal(renamer.status, 200);
    assert.equal(renamer.body.email, "renamer@example.com", "nothing changed");
  });

  test("refuses a new GitLab account whose username is a linked local login", async () => {
    const { id } = newGitLabUser("original");
    await stack.browser().signIn("original");
    stack.gitlab.upsertUser({ id, username: "original-renamed", name: "x", email: "original@example.com" });
    newGitLabUser("original", { email: "impostor@example.com" });
    const outcome = await stack.browser().signIn("original");
    assert.equal(outcome.response.status, 403);
    const admin = await adminBrowser();
    assert.equal((await admin.json("/api/users/original")).body.gitlabId, id, "no takeover by username");
  });

  test("refuses an email used by another local user, case-insensitively, writing nothing", async () => {
    const admin = await adminBrowser();
    await admin.json("/api/users", { method: "POST", body: JSON.stringify({ login: "mail-owner", email: "Shared@Example.com" }) });
    newGitLabUser("mail-thief", { email: "shared@example.COM" });
    const outcome = await stack.browser().signIn("mail-thief");
    assert.equal(outcome.response.status, 403);
    assert.match(outcome.body, /email address is already used/);
    assert.equal((await admin.json("/api/users/mail-thief")).status, 404);
  });

  test("refuses a deactivated user whatever the sign-up setting", async () => {
    newGitLabUser("sleeper");
    const browser = stack.browser();
    await browser.signIn("sleeper");
    const admin = await adminBrowser();
    assert.equal((await admin.json("/api/users/sleeper", { method: "PATCH", body: JSON.stringify({ active: false }) })).status, 200);
    assert.equal((await browser.json("/api/me")).status, 401, "sessions end at once");
    const outcome = await stack.browser().signIn("sleeper");
    assert.equal(outcome.response.status, 403);
    assert.match(outcome.body, /deactivated/);
  });

  test("refuses GitLab users whose state is not active", async () => {
    newGitLabUser("blocked-at-gitlab", { state: "blocked" });
    const outcome = await stack.browser().signIn("blocked-at-gitlab");
    assert.equal(outcome.response.status, 403);
    assert.match(outcome.body, /not active/);
  });

  test("gives INITIAL_ADMINS the admin permission at creation", async () => {
    const admin = await adminBrowser();
    const me = await admin.json("/api/me");
    assert.deepEqual(me.body.permissions, ["admin"]);
  });

  test("creates exactly one user for concurrent first sign-ins of one person", async () => {
    const { id } = newGitLabUser("twin");
    const browsers = Array.from({ length: 10 }, () => stack.browser());
    const callbacks = await Promise.all(browsers.map(async (browser) => browser.approveAtGitLab(await browser.startSignIn(), "twin")));
    const responses = await Promise.all(browsers.map((browser, index) => browser.fetch(callbacks[index]!.pathname + callbacks[index]!.search)));
    assert.deepEqual(responses.map((response) => response.status), responses.map(() => 302));
    const admin = await adminBrowser();
    const users = await admin.json("/api/users?q=twin");
    assert.equal(users.body.items.length, 1);
    assert.equal(users.body.items[0].gitlabId, id);
    for (const browser of browsers) assert.equal((await browser.json("/api/me")).body.login, "twin");
  });
});

describe("sessions", () => {
  test("logout ends the session on the server", async () => {
    newGitLabUser("leaver");
    const browser = stack.browser();
    await browser.signIn("leaver");
    const token = browser.sessionToken()!;
    const response = await browser.fetch("/auth/logout", { method: "POST" });
    assert.equal(response.status, 204);
    assert.ok(response.headers.getSetCookie().some((cookie) => cookie.startsWith("session=;") && cookie.includes("Max-Age=0")));
    const replay = await fetch(`${stack.url}/api/me`, { headers: { cookie: `session=${token}` } });
    assert.equal(replay.status, 401);
  });

  test("logout without a matching Origin is refused", async () => {
    newGitLabUser("csrf-target");
    const browser = stack.browser();
    await browser.signIn("csrf-target");
    assert.equal((await browser.fetch("/auth/logout", { method: "POST", origin: "https://evil.example" })).status, 403);
    assert.equal((await browser.json("/api/me")).status, 200);
  });

  test("/api/me is 401 without a session or with a forged one", async () => {
    assert.equal((await fetch(`${stack.url}/api/me`)).status, 401);
    const forged = await fetch(`${stack.url}/api/me`, { headers: { cookie: `session=${"A".repeat(43)}` } });
    assert.equal(forged.status, 401);
    assert.equal(forged.headers.get("content-type"), "application/problem+json; charset=utf-8");
    const body = await forged.json();
    assert.equal(body.status, 401);
    assert.equal(typeof body.title, "string");
  });
});
