// Security headers on every kind of response, and hardened cookies, over plain http (local).
// HSTS and Secure cookies on https are in security-headers-https.test.ts: configuration is read
// once per process, so an https PUBLIC_URL needs its own test file.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertSecurityHeaders, createGroup, patchSettings, prepareCallback, signedInAdmin } from "./support/hardening.js";
import { startStack } from "./support/stack.js";
import type { Browser } from "./support/browser.js";
import type { Stack } from "./support/stack.js";

let stack: Stack;
let admin: Browser;
let member: Browser;

before(async () => {
  stack = await startStack({
    users: [
      { id: 1, username: "root", name: "Root", email: "root@example.com" },
      { id: 2, username: "member", name: "Member <b>", email: "member@example.com" },
    ],
    env: { INITIAL_ADMINS: "root" },
  });
  admin = await signedInAdmin(stack);
  member = stack.browser();
  assert.equal((await member.signIn("member")).response.status, 302);
});
after(() => stack.close());

function expectHeaders(response: Response, what: string, status: number, type: RegExp | null): void {
  assert.equal(response.status, status, what);
  assertSecurityHeaders(response, what);
  assert.equal(response.headers.get("strict-transport-security"), null, `no HSTS over http: ${what}`);
  if (type === null) assert.equal(response.headers.get("content-type"), null, what);
  else assert.match(response.headers.get("content-type") ?? "", type, what);
}

const html = /^text\/html; charset=utf-8$/;
const problem = /^application\/problem\+json; charset=utf-8$/;
const json = /^application\/json; charset=utf-8$/;

describe("pages", () => {
  test("the start page, signed out, as a member and as an admin, has a strict CSP", async () => {
    expectHeaders(await stack.browser().fetch("/"), "signed out", 200, html);
    expectHeaders(await member.fetch("/"), "member", 200, html);
    expectHeaders(await admin.fetch("/"), "admin", 200, html);
  });

  test("error pages of the sign-in flow have a strict CSP and no referrer", async () => {
    const tampered = stack.browser();
    const callback = await prepareCallback(tampered, "member");
    tampered.cookies.delete("gitlab_oauth_state");
    expectHeaders(await tampered.fetch(callback), "missing state cookie", 400, html);

    stack.gitlab.setFault("user", { status: 500 });
    try {
      expectHeaders((await stack.browser().signIn("member")).response, "GitLab failing", 502, html);
    } finally {
      stack.gitlab.clearFaults();
    }

    await patchSettings(admin, { enabled: false });
    try {
      expectHeaders(await stack.browser().fetch("/auth/gitlab/login"), "sign-in disabled", 403, html);
    } finally {
      await patchSettings(admin, { enabled: true });
    }
  });
});

describe("auth and API responses", () => {
  test("redirects and sign-out are never cached", async () => {
    expectHeaders(await stack.browser().fetch("/auth/gitlab/login"), "login redirect", 302, null);
    const browser = stack.browser();
    expectHeaders(await browser.fetch(await prepareCallback(browser, "member")), "callback redirect", 302, null);
    expectHeaders(await browser.fetch("/auth/logout", { method: "POST" }), "logout", 204, null);
  });

  test("successes and every kind of problem carry the same headers", async () => {
    const group = await createGroup(admin, "headers/team");
    const responses: [string, Promise<Response>, number, RegExp | null][] = [
      ["me", admin.fetch("/api/me"), 200, json],
      ["settings", admin.fetch("/api/settings/gitlab"), 200, json],
      ["create", admin.fetch("/api/users", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ login: "headers-user" }) }), 201, json],
      ["delete", admin.fetch(`/api/groups/${group}`, { method: "DELETE" }), 204, null],
      ["bad request", admin.fetch("/api/users?limit=0"), 400, problem],
      ["unauthenticated", stack.browser().fetch("/api/me"), 401, problem],
      ["forbidden", member.fetch("/api/users"), 403, problem],
      ["not found", admin.fetch("/api/nothing-here"), 404, problem],
      ["method not allowed", admin.fetch("/api/me", { method: "DELETE" }), 405, problem],
      ["precondition failed", admin.fetch("/api/settings/gitlab", { method: "PATCH", headers: { "if-match": '"stale"', "content-type": "application/json" }, body: "{}" }), 412, problem],
      ["too large", admin.fetch("/api/users", { method: "POST", headers: { "content-type": "application/json" }, body: "x".repeat(70_000) }), 413, problem],
      ["unsupported media type", admin.fetch("/api/users", { method: "POST", body: "login=x" }), 415, problem],
    ];
    for (const [what, response, status, type] of responses) expectHeaders(await response, what, status, type);
    const conflict = await admin.fetch("/api/users", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ login: "headers-user" }) });
    expectHeaders(conflict, "conflict", 409, problem);
  });
});

describe("cookies", () => {
  test("the session and state cookies are HttpOnly, SameSite=Lax, host-only, and the state cookie is scoped to the callback", async () => {
    const browser = stack.browser();
    const login = await browser.fetch("/auth/gitlab/login");
    const [stateCookie] = login.headers.getSetCookie();
    assert.match(stateCookie!, /^gitlab_oauth_state=[A-Za-z0-9_-]{43,}; Path=\/auth\/gitlab\/callback; SameSite=Lax; HttpOnly; Max-Age=600$/);
    const callback = await browser.approveAtGitLab(new URL(login.headers.get("location")!), "member");
    const signedIn = await browser.fetch(callback.pathname + callback.search);
    const session = signedIn.headers.getSetCookie().find((cookie) => cookie.startsWith("session="))!;
    assert.match(session, /^session=[A-Za-z0-9_-]{43,}; Path=\/; SameSite=Lax; HttpOnly; Max-Age=\d+$/);
    assert.doesNotMatch(signedIn.headers.getSetCookie().join("\n"), /Domain=|Secure/i);
  });
});
