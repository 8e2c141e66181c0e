// Faults: GitLab failing at every step of a sign-in, GitLab too slow, and DynamoDB throttling or
// cancelling transactions. A failed sign-in shows a page, sets no session and changes nothing.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { GitLabUnavailableError } from "../lib/errors.js";
import { fetchGitLabGroupPaths } from "../lib/gitlab.js";
import { createAuthorizationURL, exchangeCode } from "../lib/oauth.js";
import type { EmulatorFault, EmulatorRoute } from "../infra/gitlab-emulator.js";
import { startDynamoDBFaultProxy } from "./support/dynamodb-fault-proxy.js";
import type { DynamoDBFaultProxy } from "./support/dynamodb-fault-proxy.js";
import { createGroup, durableState, orphanMemberships, outcomeSummary, patchSettings, prepareCallback, signedInAdmin } from "./support/hardening.js";
import { applicationId, applicationSecret, startStack } from "./support/stack.js";
import type { Browser } from "./support/browser.js";
import type { Stack } from "./support/stack.js";

// Small, so that "never answers" is observed quickly; generous enough for a loaded CI machine.
const gitlabTimeoutMs = 700;
// Far beyond the 20 s sign-in budget and the 29 s Lambda timeout: a GitLab that never answers.
const never = 60_000;

let stack: Stack;
let proxy: DynamoDBFaultProxy;
let admin: Browser;
const steadyId = 10;
const manyPaths = Array.from({ length: 250 }, (_, index) => `fault/g${String(index).padStart(3, "0")}`);

before(async () => {
  // The service's DynamoDB client is created when the handlers load: point it at the proxy first.
  proxy = await startDynamoDBFaultProxy(process.env.AWS_ENDPOINT_URL_DYNAMODB!);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.endpoint;
  stack = await startStack({
    users: [
      { id: 1, username: "root", name: "Root", email: "root@example.com" },
      { id: steadyId, username: "steady", name: "Steady", email: "steady@example.com", groups: ["fault/old"] },
    ],
    env: { INITIAL_ADMINS: "root", GITLAB_TIMEOUT_MS: String(gitlabTimeoutMs) },
  });
  admin = await signedInAdmin(stack);
  for (const name of ["fault/g000", "fault/g120", "fault/g249", "fault/old"]) await createGroup(admin, name);
  await patchSettings(admin, { synchronizeGroups: true });
  const first = await stack.browser().signIn("steady");
  assert.equal(first.response.status, 302);
  // From now on a successful sign-in would rename steady, add three memberships (one on each
  // page of 100 groups) and remove fault/old: a failed one must do none of it.
  stack.gitlab.upsertUser({ id: steadyId, username: "steady", name: "Steady Renamed", email: "steady@example.com", groups: manyPaths });
});
after(async () => {
  await stack.close();
  await proxy.close();
});

interface FaultCase {
  route: EmulatorRoute;
  page?: number;
  name: string;
  fault: EmulatorFault;
  status: number;
}

function faultCases(): FaultCase[] {
  const steps: { route: EmulatorRoute; page?: number; missing: string }[] = [
    { route: "token", missing: "access_token" },
    { route: "user", missing: "id" },
    ...[1, 2, 3].map((page) => ({ route: "groups" as const, page, missing: "full_path" })),
  ];
  return steps.flatMap(({ route, page, missing }) => {
    const at = (fault: EmulatorFault): EmulatorFault => (page === undefined ? fault : { ...fault, onPage: page });
    return [
      { route, page, name: "500", fault: at({ status: 500 }), status: 502 },
      { route, page, name: "429 with Retry-After", fault: at({ status: 429, headers: { "Retry-After": "1" } }), status: 502 },
      { route, page, name: "no answer", fault: at({ delayMs: never }), status: 502 },
      { route, page, name: "malformed JSON", fault: at({ status: 200, body: '{"id": 1, "username": ' }), status: 502 },
      { route, page, name: `a missing ${missing}`, fault: at({ dropField: missing }), status: 502 },
    ];
  });
}

async function expectCleanFailure(login: string, route: EmulatorRoute | null, fault: EmulatorFault, status: number): Promise<string> {
  const browser = stack.browser();
  const callback = await prepareCallback(browser, login);
  const before = await durableState(stack);
  if (route !== null) stack.gitlab.setFault(route, fault);
  const started = Date.now();
  let response: Response;
  try {
    response = await browser.fetch(callback);
  } finally {
    stack.gitlab.clearFaults();
  }
  const body = await response.text();
  assert.equal(response.status, status, outcomeSummary(response.status, body));
  assert.match(response.headers.get("content-type")!, /^text\/html/);
  assert.equal(response.headers.getSetCookie().some((cookie) => cookie.startsWith("session=")), false, "no session");
  assert.ok(Date.now() - started < 15_000, "answered well within the sign-in budget");
  assert.deepEqual(await durableState(stack), before, "nothing changed in DynamoDB");
  return body;
}

describe("GitLab failing during a sign-in", () => {
  for (const { route, page, name, fault, status } of faultCases()) {
    test(`${route}${page === undefined ? "" : ` page ${page}`}: ${name} fails the sign-in with ${status} and changes nothing`, async () => {
      const body = await expectCleanFailure("steady", route, fault, status);
      assert.match(body, /GitLab/);
    });
  }

  test("the token endpoint rejecting the code is a 400 page", async () => {
    await expectCleanFailure("steady", "token", { status: 400, body: JSON.stringify({ error: "invalid_grant", error_description: "expired" }) }, 400);
  });

  test("a GitLab profile outside GitLab's own rules is refused with 502 and nothing written", async () => {
    const profiles = [
      { username: "u".repeat(3000), email: "long@example.com", name: "Long" },
      { username: "with/slash", email: "slash@example.com", name: "Slash" },
      { username: "big-name", email: "big@example.com", name: "n".repeat(300_000) },
      { username: "long-email", email: `${"e".repeat(3000)}@example.com`, name: "Mail" },
      { username: "no-email", email: "not an address", name: "Mail" },
    ];
    for (const [index, profile] of profiles.entries()) {
      stack.gitlab.upsertUser({ id: 40 + index, ...profile });
      const body = await expectCleanFailure(profile.username, null, {}, 502);
      assert.match(body, /user profile we cannot read/);
    }
  });

  test("a new user is not created when GitLab fails at any step", async () => {
    stack.gitlab.upsertUser({ id: 11, username: "newcomer", name: "Newcomer", email: "newcomer@example.com", groups: manyPaths });
    for (const [route, page] of [["token"], ["user"], ["groups", 1], ["groups", 3]] as const) {
      await expectCleanFailure("newcomer", route, { status: 500, ...(page !== undefined && { onPage: page }) }, 502);
    }
    assert.equal((await admin.json("/api/users/newcomer")).status, 404);
  });

  test("once GitLab recovers, the same sign-in applies every change", async () => {
    const browser = stack.browser();
    assert.equal((await browser.signIn("steady")).response.status, 302);
    const me = await browser.json("/api/me");
    assert.equal(me.body.name, "Steady Renamed");
    assert.deepEqual(me.body.groups, ["fault/g000", "fault/g120", "fault/g249"]);
  });

  test("a single 429 or 503 is retried once, honouring Retry-After, and the sign-in succeeds", async () => {
    for (const [route, fault] of [
      ["user", { status: 429, headers: { "Retry-After": "1" }, times: 1 }],
      ["groups", { status: 503, onPage: 2, times: 1 }],
    ] as const) {
      stack.gitlab.resetRequestCounts();
      stack.gitlab.setFault(route, fault);
      const outcome = await stack.browser().signIn("steady");
      stack.gitlab.clearFaults();
      assert.equal(outcome.response.status, 302, outcomeSummary(outcome.response.status, outcome.body));
      assert.equal(stack.gitlab.requestCounts()[route], route === "user" ? 2 : 4, "one retry");
    }
  });
});

describe("deadlines", () => {
  async function accessToken(): Promise<string> {
    const app = { gitlabURL: stack.gitlab.url, applicationId, secret: applicationSecret, redirectURI: `${stack.url}/auth/gitlab/callback` };
    const verifier = "v".repeat(43);
    const authorize = createAuthorizationURL(app, "state", verifier, ["read_api"]);
    authorize.searchParams.set("login", "steady");
    const redirect = await fetch(authorize, { redirect: "manual" });
    const code = new URL(redirect.headers.get("location")!).searchParams.get("code")!;
    return exchangeCode(app, code, verifier, gitlabTimeoutMs);
  }

  test("reading groups stops at the sign-in's total budget even when every page answers in time", async () => {
    const token = await accessToken();
    stack.gitlab.resetRequestCounts();
    stack.gitlab.setFault("groups", { delayMs: 300 });
    try {
      await assert.rejects(
        fetchGitLabGroupPaths({ gitlabURL: stack.gitlab.url, accessToken: token, timeoutMs: gitlabTimeoutMs, deadline: Date.now() + 500 }),
        GitLabUnavailableError,
      );
    } finally {
      stack.gitlab.clearFaults();
    }
    assert.ok(stack.gitlab.requestCounts().groups < 3, "did not read all three pages");
  });

  test("the token exchange has its own deadline", async () => {
    const app = { gitlabURL: stack.gitlab.url, applicationId, secret: applicationSecret, redirectURI: `${stack.url}/auth/gitlab/callback` };
    stack.gitlab.setFault("token", { delayMs: never });
    try {
      await assert.rejects(exchangeCode(app, "any-code", "v".repeat(43), 200), GitLabUnavailableError);
    } finally {
      stack.gitlab.clearFaults();
    }
  });
});

describe("DynamoDB throttling and cancelled transactions", () => {
  async function signInWithDynamoDBFault(login: string, fault: Parameters<DynamoDBFaultProxy["setFault"]>[0]): Promise<{ status: number; summary: string; browser: Browser }> {
    const browser = stack.browser();
    const callback = await prepareCallback(browser, login);
    proxy.setFault(fault);
    try {
      const response = await browser.fetch(callback);
      return { status: response.status, summary: outcomeSummary(response.status, await response.text()), browser };
    } finally {
      proxy.setFault(null);
    }
  }

  test("a sign-in whose transaction is cancelled by conflicts is retried and succeeds", async () => {
    stack.gitlab.upsertUser({ id: 20, username: "conflicted", name: "Conflicted", email: "conflicted@example.com" });
    const { status, summary, browser } = await signInWithDynamoDBFault("conflicted", { operation: "TransactWriteItems", bodyIncludes: "SESSION#", kind: "transaction-conflict", times: 3 });
    assert.equal(status, 302, summary);
    assert.equal((await browser.json("/api/me")).body.login, "conflicted");
  });

  test("reads and writes throttled for a moment are retried and the sign-in succeeds", async () => {
    stack.gitlab.upsertUser({ id: 21, username: "throttled", name: "Throttled", email: "throttled@example.com" });
    for (const operation of ["GetItem", "BatchGetItem", "TransactWriteItems"]) {
      const { status, summary } = await signInWithDynamoDBFault("throttled", { operation, kind: "throttling", times: 1 });
      assert.equal(status, 302, `${operation}: ${summary}`);
      assert.equal(proxy.injected(), 1, `${operation} was throttled`);
    }
  });

  test("a sign-in whose transaction keeps being cancelled fails with a 503 page, no session and nothing written", async () => {
    stack.gitlab.upsertUser({ id: 22, username: "unlucky-db", name: "Unlucky", email: "unlucky-db@example.com" });
    const before = await durableState(stack);
    const { status, summary, browser } = await signInWithDynamoDBFault("unlucky-db", { operation: "TransactWriteItems", bodyIncludes: "SESSION#", kind: "transaction-conflict" });
    assert.equal(status, 503, summary);
    assert.equal(browser.sessionToken(), null);
    assert.deepEqual(await durableState(stack), before);
  });

  test("persistent throttling fails the sign-in with a 503 page and nothing written", async () => {
    const before = await durableState(stack);
    const { status, summary, browser } = await signInWithDynamoDBFault("unlucky-db", { operation: "BatchGetItem", kind: "throttling" });
    assert.equal(status, 503, summary);
    assert.equal(browser.sessionToken(), null);
    assert.deepEqual(await durableState(stack), before);
  });

  test("admin writes cancelled by a conflict are retried; when it persists they fail with 503 and write nothing", async () => {
    const group = await createGroup(admin, "fault/admin-edits");
    assert.equal((await admin.json("/api/users", { method: "POST", body: JSON.stringify({ login: "edited" }) })).status, 201);
    proxy.setFault({ operation: "TransactWriteItems", kind: "transaction-conflict", times: 2 });
    const added = await admin.json(`/api/groups/${group}/members/edited`, { method: "PUT" });
    proxy.setFault({ operation: "TransactWriteItems", kind: "transaction-conflict", times: 1 });
    const settings = await admin.json("/api/settings/gitlab", { method: "PATCH", body: JSON.stringify({ allowUsersToSignUp: true }) });
    proxy.setFault({ operation: "TransactWriteItems", kind: "transaction-conflict" });
    const removed = await admin.json(`/api/groups/${group}/members/edited`, { method: "DELETE" });
    proxy.setFault(null);
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.equal(settings.status, 200, JSON.stringify(settings.body));
    assert.equal(removed.status, 503);
    assert.equal(removed.response.headers.get("content-type"), "application/problem+json; charset=utf-8");
    assert.deepEqual((await admin.json(`/api/groups/${group}/members`)).body.items, [{ login: "edited", source: "manual" }], "still a member");
  });

  test("a sync split over several transactions is all-or-nothing at the first, and converges when a later one is cancelled", async () => {
    const paths = Array.from({ length: 120 }, (_, index) => `wide/g${String(index).padStart(3, "0")}`);
    for (let start = 0; start < paths.length; start += 20) {
      await Promise.all(paths.slice(start, start + 20).map((path) => createGroup(admin, path)));
    }
    stack.gitlab.upsertUser({ id: 23, username: "wide", name: "Wide", email: "wide@example.com", groups: ["wide"] });
    const before = await durableState(stack);
    const refused = await signInWithDynamoDBFault("wide", { operation: "TransactWriteItems", bodyIncludes: "MEMBER#", kind: "transaction-conflict" });
    assert.equal(refused.status, 503, refused.summary);
    assert.equal(refused.browser.sessionToken(), null);
    assert.deepEqual(await durableState(stack), before, "the first transaction holds the user: nothing written");

    // A middle transaction (neither the profile nor the session) cancelled beyond the retries of
    // one write: the first chunk is already written, the sign-in starts over from fresh data.
    const retried = await signInWithDynamoDBFault("wide", {
      operation: "TransactWriteItems",
      bodyIncludes: "MEMBER#",
      bodyExcludes: ["PROFILE", "SESSION#"],
      kind: "transaction-conflict",
      times: 4,
    });
    assert.equal(proxy.injected(), 4);
    assert.equal(retried.status, 302, retried.summary);
    assert.deepEqual((await retried.browser.json("/api/me")).body.groups, paths);
    assert.deepEqual(await orphanMemberships(stack), []);
  });
});
