import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";

import { demoApplication, demoGroups, demoUsers } from "../infra/demo-gitlab.js";
import { startGitLabEmulator } from "../infra/gitlab-emulator.js";

import type { GitLabEmulator } from "../infra/gitlab-emulator.js";

const APP_URL = "http://localhost:3000";
const REDIRECT_URI = `${APP_URL}/auth/gitlab/callback`;
const CLIENT_ID = "gitlab-jit-dev";
const CLIENT_SECRET = "dev-secret-not-for-production";

let gitlab: GitLabEmulator;

before(async () => {
  gitlab = await startGitLabEmulator({
    application: demoApplication(APP_URL),
    users: demoUsers,
    groups: demoGroups,
  });
});

after(async () => {
  await gitlab.close();
});

beforeEach(() => {
  gitlab.clearFaults();
  gitlab.setPaginationTotals(true);
  gitlab.resetRequestCounts();
});

interface PKCE {
  verifier: string;
  challenge: string;
}

function createPKCE(): PKCE {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function authorizeURL(overrides: Record<string, string | null> = {}, pkce: PKCE = createPKCE()): URL {
  const url = new URL("/oauth/authorize", gitlab.url);
  const params: Record<string, string | null> = {
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    response_type: "code",
    state: "state-123",
    scope: "read_user read_api",
    code_challenge: pkce.challenge,
    code_challenge_method: "S256",
    ...overrides,
  };
  for (const [name, value] of Object.entries(params)) {
    if (value !== null) url.searchParams.set(name, value);
  }
  return url;
}

function get(url: URL | string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { redirect: "manual", headers });
}

function location(response: Response): URL {
  const header = response.headers.get("location");
  assert.ok(header, `expected a Location header, got status ${response.status}`);
  return new URL(header);
}

/** Signs in as `login` and returns the code from the callback redirect. */
async function authorizeCode(login: string, pkce: PKCE, overrides: Record<string, string | null> = {}): Promise<string> {
  const response = await get(authorizeURL({ ...overrides, login }, pkce));
  assert.equal(response.status, 302);
  const callback = location(response);
  assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URI);
  assert.equal(callback.searchParams.get("state"), overrides.state ?? "state-123");
  const code = callback.searchParams.get("code");
  assert.ok(code);
  return code;
}

function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
}

function postToken(params: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(new URL("/oauth/token", gitlab.url), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json", ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

function exchange(code: string, verifier: string, extra: Record<string, string> = {}): Promise<Response> {
  return postToken(
    { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...extra },
    { Authorization: basicAuth(CLIENT_ID, CLIENT_SECRET) },
  );
}

async function accessTokenFor(login: string, scope = "read_user read_api"): Promise<string> {
  const pkce = createPKCE();
  const code = await authorizeCode(login, pkce, { scope });
  const response = await exchange(code, pkce.verifier);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { access_token: string };
  return body.access_token;
}

function bearer(accessToken: string): Record<string, string> {
  return { Authorization: `Bearer ${accessToken}` };
}

function groupsURL(query: Record<string, string>): URL {
  const url = new URL("/api/v4/groups", gitlab.url);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url;
}

/** A user who is a direct member of 250 groups, three pages at per_page=100. */
function addBulkUser(): string[] {
  const paths = Array.from({ length: 250 }, (_, index) => `bulk/team-${String(index).padStart(3, "0")}`);
  gitlab.upsertUser({ id: 5001, username: "bulk", name: "Bulk Member", email: "bulk@example.com", groups: paths });
  return paths;
}

async function assertOAuthError(response: Response, status: number, error: string): Promise<void> {
  assert.equal(response.status, status);
  const body = (await response.json()) as { error: string };
  assert.equal(body.error, error);
}

describe("authorization code flow with PKCE", () => {
  it("issues a token for the right verifier, with Basic client authentication", async () => {
    const pkce = createPKCE();
    const code = await authorizeCode("ada", pkce);
    const response = await exchange(code, pkce.verifier);
    assert.equal(response.status, 200);
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(typeof body.access_token, "string");
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, 7200);
    assert.equal(typeof body.refresh_token, "string");
    assert.equal(body.scope, "read_user read_api");
    assert.equal(typeof body.created_at, "number");

    const recorded = gitlab.lastTokenRequest();
    assert.equal(recorded?.clientAuth, "basic");
    assert.equal(recorded?.params.code_verifier, pkce.verifier);
    assert.ok(!JSON.stringify(recorded).includes(CLIENT_SECRET));
  });

  it("accepts client credentials in the body and never records the secret", async () => {
    const pkce = createPKCE();
    const code = await authorizeCode("grace", pkce);
    const response = await postToken({
      grant_type: "authorization_code",
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: pkce.verifier,
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    });
    assert.equal(response.status, 200);
    const recorded = gitlab.lastTokenRequest();
    assert.equal(recorded?.clientAuth, "body");
    assert.equal(recorded?.params.client_id, CLIENT_ID);
    assert.equal(recorded?.params.client_secret, undefined);
  });

  it("rejects a wrong verifier, then still accepts the right one", async () => {
    const pkce = createPKCE();
    const code = await authorizeCode("ada", pkce);
    await assertOAuthError(await exchange(code, createPKCE().verifier), 400, "invalid_grant");
    await assertOAuthError(await exchange(code, "too-short"), 400, "invalid_grant");
    const missing = await postToken(
      { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI },
      { Authorization: basicAuth(CLIENT_ID, CLIENT_SECRET) },
    );
    await assertOAuthError(missing, 400, "invalid_grant");
    assert.equal((await exchange(code, pkce.verifier)).status, 200);
  });

  it("makes codes single use", async () => {
    const pkce = createPKCE();
    const code = await authorizeCode("ada", pkce);
    assert.equal((await exchange(code, pkce.verifier)).status, 200);
    await assertOAuthError(await exchange(code, pkce.verifier), 400, "invalid_grant");
    await assertOAuthError(await exchange("no-such-code", pkce.verifier), 400, "invalid_grant");
  });

  it("requires the identical redirect_uri", async () => {
    const pkce = createPKCE();
    const code = await authorizeCode("ada", pkce);
    await assertOAuthError(await exchange(code, pkce.verifier, { redirect_uri: `${REDIRECT_URI}/` }), 400, "invalid_grant");
    const withoutRedirect = await postToken(
      { grant_type: "authorization_code", code, code_verifier: pkce.verifier },
      { Authorization: basicAuth(CLIENT_ID, CLIENT_SECRET) },
    );
    await assertOAuthError(withoutRedirect, 400, "invalid_grant");
  });

  it("authenticates the client", async () => {
    const pkce = createPKCE();
    const code = await authorizeCode("ada", pkce);
    const params = { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: pkce.verifier };
    const wrongBasic = await postToken(params, { Authorization: basicAuth(CLIENT_ID, "wrong") });
    await assertOAuthError(wrongBasic, 401, "invalid_client");
    await assertOAuthError(await postToken({ ...params, client_id: CLIENT_ID, client_secret: "wrong" }), 401, "invalid_client");
    await assertOAuthError(await postToken({ ...params, client_id: CLIENT_ID }), 401, "invalid_client");
    assert.equal(gitlab.lastTokenRequest()?.clientAuth, "none");
    await assertOAuthError(await postToken(params), 401, "invalid_client");
    const bothMethods = await postToken(
      { ...params, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
      { Authorization: basicAuth(CLIENT_ID, CLIENT_SECRET) },
    );
    await assertOAuthError(bothMethods, 401, "invalid_client");
    // The failures above did not consume the code.
    assert.equal((await postToken(params, { Authorization: basicAuth(CLIENT_ID, CLIENT_SECRET) })).status, 200);
  });

  it("rejects other grant types and malformed input with 400s", async () => {
    const auth = { Authorization: basicAuth(CLIENT_ID, CLIENT_SECRET) };
    await assertOAuthError(await postToken({ grant_type: "password" }, auth), 400, "unsupported_grant_type");
    await assertOAuthError(await postToken({ grant_type: "refresh_token", refresh_token: "x" }, auth), 400, "unsupported_grant_type");
    await assertOAuthError(await postToken({ grant_type: "authorization_code" }, { Authorization: "Basic %%%not-base64" }), 400, "invalid_request");
    await assertOAuthError(
      await postToken({ grant_type: "authorization_code" }, { Authorization: `Basic ${Buffer.from("no-colon").toString("base64")}` }),
      400,
      "invalid_request",
    );
    const badForm = await fetch(new URL("/oauth/token", gitlab.url), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...auth },
      body: "grant_type=authorization_code&code=%zz",
    });
    await assertOAuthError(badForm, 400, "invalid_request");
    const repeated = await fetch(new URL("/oauth/token", gitlab.url), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...auth },
      body: "grant_type=authorization_code&code=a&code=b",
    });
    await assertOAuthError(repeated, 400, "invalid_request");
    const json = await fetch(new URL("/oauth/token", gitlab.url), {
      method: "POST",
      headers: { "Content-Type": "application/json", ...auth },
      body: JSON.stringify({ grant_type: "authorization_code" }),
    });
    await assertOAuthError(json, 400, "invalid_request");
    // The server survived all of it.
    assert.equal((await get(authorizeURL())).status, 200);
  });
});

describe("authorize", () => {
  it("renders an escaped sign-in page with a link per user and a deny link", async () => {
    gitlab.upsertUser({ id: 9001, username: "xss", name: "<script>alert(1)</script>", email: "xss@example.com" });
    const response = await get(authorizeURL());
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-security-policy"), "default-src 'none'; style-src 'unsafe-inline'");
    const html = await response.text();
    assert.match(html, /Sign in to GitLab \(emulator\)/);
    for (const user of demoUsers) {
      assert.match(html, new RegExp(`&amp;login=${user.username}">Sign in as ${user.username}</a>`));
      assert.ok(html.includes(user.name));
    }
    assert.ok(!html.includes("<script>"));
    assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.match(html, /&amp;deny=1">Deny access<\/a>/);
  });

  it("shows an error page instead of redirecting to an unregistered redirect_uri", async () => {
    for (const redirectURI of ["https://evil.example/callback", `${REDIRECT_URI}/`, `${REDIRECT_URI}?x=1`, null]) {
      const response = await get(authorizeURL({ redirect_uri: redirectURI, login: "ada" }));
      assert.equal(response.status, 400);
      assert.equal(response.headers.get("location"), null);
      assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
      await response.text();
    }
    const unknownClient = await get(authorizeURL({ client_id: "other", login: "ada" }));
    assert.equal(unknownClient.status, 400);
    assert.equal(unknownClient.headers.get("location"), null);
  });

  it("redirects with invalid_request for a bad PKCE, response_type or scope", async () => {
    const cases: Record<string, string | null>[] = [
      { code_challenge: null },
      { code_challenge: "short" },
      { code_challenge_method: null },
      { code_challenge_method: "plain" },
      { response_type: "token" },
      { scope: null },
      { scope: "read_user sudo" },
    ];
    for (const overrides of cases) {
      const response = await get(authorizeURL({ ...overrides, login: "ada" }));
      assert.equal(response.status, 302, JSON.stringify(overrides));
      const callback = location(response);
      assert.equal(callback.searchParams.get("error"), "invalid_request");
      assert.ok(callback.searchParams.get("error_description"));
      assert.equal(callback.searchParams.get("state"), "state-123");
      assert.equal(callback.searchParams.get("code"), null);
    }
  });

  it("redirects with access_denied on deny, echoing the state exactly", async () => {
    const state = "a b+c/d=é&x";
    const response = await get(authorizeURL({ deny: "1", state }));
    assert.equal(response.status, 302);
    const callback = location(response);
    assert.equal(callback.searchParams.get("error"), "access_denied");
    assert.ok(callback.searchParams.get("error_description"));
    assert.equal(callback.searchParams.get("state"), state);
  });

  it("answers an unknown login with a 400 page", async () => {
    const response = await get(authorizeURL({ login: "nobody" }));
    assert.equal(response.status, 400);
    assert.equal(response.headers.get("location"), null);
  });
});

describe("GET /api/v4/user", () => {
  it("requires a valid token", async () => {
    const anonymous = await get(new URL("/api/v4/user", gitlab.url));
    assert.equal(anonymous.status, 401);
    assert.deepEqual(await anonymous.json(), { message: "401 Unauthorized" });
    const invalid = await get(new URL("/api/v4/user", gitlab.url), bearer("not-a-token"));
    assert.equal(invalid.status, 401);
    await invalid.body?.cancel();
  });

  it("returns the current user data, including changes after the token was issued", async () => {
    const accessToken = await accessTokenFor("linus", "read_user");
    const first = await get(new URL("/api/v4/user", gitlab.url), bearer(accessToken));
    assert.equal(first.status, 200);
    const user = (await first.json()) as Record<string, unknown>;
    assert.deepEqual(
      { id: user.id, username: user.username, name: user.name, email: user.email, state: user.state },
      { id: 1003, username: "linus", name: "Linus Torvalds", email: "linus@example.com", state: "active" },
    );
    assert.equal(user.web_url, `${gitlab.url}/linus`);
    assert.equal(typeof user.avatar_url, "string");
    assert.equal(typeof user.created_at, "string");

    gitlab.upsertUser({ id: 1003, username: "torvalds", name: "Linus", email: "linus@example.com", state: "blocked" });
    const second = await get(new URL("/api/v4/user", gitlab.url), bearer(accessToken));
    const renamed = (await second.json()) as Record<string, unknown>;
    assert.equal(renamed.id, 1003);
    assert.equal(renamed.username, "torvalds");
    assert.equal(renamed.state, "blocked");
    gitlab.upsertUser(demoUsers[2]!);
  });

  it("needs a user-reading scope", async () => {
    const accessToken = await accessTokenFor("ada", "openid profile");
    const response = await get(new URL("/api/v4/user", gitlab.url), bearer(accessToken));
    assert.equal(response.status, 403);
    await response.body?.cancel();
  });
});

describe("GET /api/v4/groups", () => {
  it("returns direct memberships only, sorted, with stable ids and parents", async () => {
    const accessToken = await accessTokenFor("linus");
    const response = await get(groupsURL({ min_access_level: "10", per_page: "100" }), bearer(accessToken));
    assert.equal(response.status, 200);
    const groups = (await response.json()) as Record<string, unknown>[];
    assert.deepEqual(
      groups.map((group) => group.full_path),
      ["acme/web", "oss"],
    );
    const web = groups[0]!;
    assert.equal(web.path, "web");
    assert.equal(web.name, "Web");
    assert.equal(web.full_name, "Acme / Web");
    assert.equal(web.web_url, `${gitlab.url}/groups/acme/web`);
    assert.equal(groups[1]!.parent_id, null);

    const all = (await (await get(groupsURL({ per_page: "100" }), bearer(accessToken))).json()) as Record<string, unknown>[];
    const acme = all.find((group) => group.full_path === "acme");
    assert.equal(web.parent_id, acme?.id);
    assert.equal(typeof web.id, "number");
  });

  it("includes groups the user is not a member of when min_access_level is missing", async () => {
    const accessToken = await accessTokenFor("ada");
    const response = await get(groupsURL({ per_page: "100" }), bearer(accessToken));
    const groups = (await response.json()) as { full_path: string }[];
    assert.deepEqual(
      groups.map((group) => group.full_path),
      [...demoGroups].sort(),
    );
  });

  it("requires read_api or api scope", async () => {
    const readUser = await accessTokenFor("ada", "read_user");
    const response = await get(groupsURL({ min_access_level: "10" }), bearer(readUser));
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { error: string }).error, "insufficient_scope");
    const api = await accessTokenFor("ada", "api");
    assert.equal((await get(groupsURL({ min_access_level: "10" }), bearer(api))).status, 200);
    assert.equal((await get(groupsURL({ min_access_level: "10" }))).status, 401);
  });

  it("paginates 250 groups over 3 pages like GitLab", async () => {
    const paths = addBulkUser();
    const accessToken = await accessTokenFor("bulk");

    const seen: string[] = [];
    let url: string | null = groupsURL({ min_access_level: "10", per_page: "100" }).toString();
    const pages: Response[] = [];
    while (url !== null) {
      const response = await get(url, bearer(accessToken));
      assert.equal(response.status, 200);
      pages.push(response);
      seen.push(...((await response.json()) as { full_path: string }[]).map((group) => group.full_path));
      url = /<([^>]+)>; rel="next"/.exec(response.headers.get("link") ?? "")?.[1] ?? null;
    }
    assert.equal(pages.length, 3);
    assert.deepEqual(seen, paths);

    const [first, second, third] = pages as [Response, Response, Response];
    assert.equal(first.headers.get("x-page"), "1");
    assert.equal(first.headers.get("x-per-page"), "100");
    assert.equal(first.headers.get("x-next-page"), "2");
    assert.equal(first.headers.get("x-prev-page"), "");
    assert.equal(first.headers.get("x-total"), "250");
    assert.equal(first.headers.get("x-total-pages"), "3");
    const firstLink = first.headers.get("link") ?? "";
    assert.ok(firstLink.includes(`<${gitlab.url}/api/v4/groups?min_access_level=10&per_page=100&page=2>; rel="next"`));
    assert.ok(firstLink.includes('rel="first"'));
    assert.ok(firstLink.includes(`page=3>; rel="last"`));
    assert.ok(!firstLink.includes('rel="prev"'));
    assert.equal(second.headers.get("x-prev-page"), "1");
    assert.ok((second.headers.get("link") ?? "").includes('rel="prev"'));
    assert.equal(third.headers.get("x-next-page"), "");
    assert.ok(!(third.headers.get("link") ?? "").includes('rel="next"'));

    gitlab.setPaginationTotals(false);
    const withoutTotals = await get(groupsURL({ min_access_level: "10", per_page: "100", page: "2" }), bearer(accessToken));
    await withoutTotals.body?.cancel();
    assert.equal(withoutTotals.headers.get("x-total"), null);
    assert.equal(withoutTotals.headers.get("x-total-pages"), null);
    assert.equal(withoutTotals.headers.get("x-next-page"), "3");
    const link = withoutTotals.headers.get("link") ?? "";
    assert.ok(link.includes('rel="next"') && link.includes('rel="prev"') && link.includes('rel="first"'));
    assert.ok(!link.includes('rel="last"'));
  });

  it("defaults per_page to 20, caps it at 100 and rejects non-integers", async () => {
    const accessToken = await accessTokenFor("ada");
    const defaults = await get(groupsURL({}), bearer(accessToken));
    await defaults.body?.cancel();
    assert.equal(defaults.headers.get("x-per-page"), "20");
    const capped = await get(groupsURL({ per_page: "1000" }), bearer(accessToken));
    await capped.body?.cancel();
    assert.equal(capped.headers.get("x-per-page"), "100");
    const invalid = await get(groupsURL({ page: "two" }), bearer(accessToken));
    assert.equal(invalid.status, 400);
    await invalid.body?.cancel();
  });
});

describe("faults", () => {
  it("responds with a status and extra headers", async () => {
    gitlab.setFault("user", { status: 429, headers: { "Retry-After": "1" } });
    const response = await get(new URL("/api/v4/user", gitlab.url));
    assert.equal(response.status, 429);
    assert.equal(response.headers.get("retry-after"), "1");
    assert.deepEqual(await response.json(), { message: "429 Too Many Requests" });
  });

  it("sends a malformed body", async () => {
    gitlab.setFault("token", { body: "{not json" });
    const response = await exchange("anything", "x");
    assert.equal(response.status, 200);
    await assert.rejects(response.json(), SyntaxError);
  });

  it("delays the normal response", async () => {
    const accessToken = await accessTokenFor("ada");
    gitlab.setFault("user", { delayMs: 150 });
    const started = performance.now();
    const response = await get(new URL("/api/v4/user", gitlab.url), bearer(accessToken));
    assert.ok(performance.now() - started >= 140);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { username: string }).username, "ada");
  });

  it("drops a field from the user, from every group and from the authorize redirect", async () => {
    const accessToken = await accessTokenFor("linus");
    gitlab.setFault("user", { dropField: "email" });
    const user = (await (await get(new URL("/api/v4/user", gitlab.url), bearer(accessToken))).json()) as Record<string, unknown>;
    assert.equal(user.username, "linus");
    assert.ok(!("email" in user));

    gitlab.setFault("groups", { dropField: "full_path" });
    const groups = (await (await get(groupsURL({ min_access_level: "10" }), bearer(accessToken))).json()) as Record<string, unknown>[];
    assert.equal(groups.length, 2);
    assert.ok(groups.every((group) => !("full_path" in group) && "id" in group));

    gitlab.setFault("authorize", { dropField: "state" });
    const callback = location(await get(authorizeURL({ login: "ada" })));
    assert.ok(callback.searchParams.get("code"));
    assert.equal(callback.searchParams.get("state"), null);
  });

  it("applies a groups fault only on the given page", async () => {
    addBulkUser();
    const accessToken = await accessTokenFor("bulk");
    gitlab.setFault("groups", { status: 502, onPage: 2 });
    const query = { min_access_level: "10", per_page: "100" };
    const page1 = await get(groupsURL({ ...query, page: "1" }), bearer(accessToken));
    const page2 = await get(groupsURL({ ...query, page: "2" }), bearer(accessToken));
    const page3 = await get(groupsURL({ ...query, page: "3" }), bearer(accessToken));
    assert.deepEqual([page1.status, page2.status, page3.status], [200, 502, 200]);
    await Promise.all([page1, page2, page3].map((response) => response.body?.cancel()));
    assert.equal(gitlab.requestCounts().groups, 3);
  });

  it("clears a fault after `times` applications", async () => {
    gitlab.setFault("user", { status: 503, times: 2 });
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await get(new URL("/api/v4/user", gitlab.url));
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assert.deepEqual(statuses, [503, 503, 401]);
  });

  it("is removed by setFault(route, null) and clearFaults()", async () => {
    gitlab.setFault("user", { status: 500 });
    gitlab.setFault("user", null);
    gitlab.setFault("groups", { status: 500 });
    gitlab.clearFaults();
    for (const path of ["/api/v4/user", "/api/v4/groups"]) {
      const response = await get(new URL(path, gitlab.url));
      assert.equal(response.status, 401);
      await response.body?.cancel();
    }
    assert.throws(() => gitlab.setFault("user", { onPage: 2 }), TypeError);
  });
});

describe("request counts and routing", () => {
  it("counts requests per route, including faulted ones, and resets", async () => {
    gitlab.setFault("token", { status: 500 });
    await (await get(authorizeURL())).text();
    await (await exchange("x", "y")).text();
    await (await get(new URL("/api/v4/user", gitlab.url))).text();
    await (await get(new URL("/api/v4/user", gitlab.url))).text();
    assert.deepEqual(gitlab.requestCounts(), { authorize: 1, token: 1, user: 2, groups: 0 });
    gitlab.resetRequestCounts();
    assert.deepEqual(gitlab.requestCounts(), { authorize: 0, token: 0, user: 0, groups: 0 });
  });

  it("answers anything else with a JSON 404", async () => {
    for (const path of ["/api/v4/projects", "/api/v4/user/", "/"]) {
      const response = await get(new URL(path, gitlab.url));
      assert.equal(response.status, 404);
      assert.deepEqual(await response.json(), { message: "404 Not Found" });
    }
    const wrongMethod = await fetch(new URL("/oauth/token", gitlab.url));
    assert.equal(wrongMethod.status, 404);
    await wrongMethod.body?.cancel();
  });
});

describe("lifecycle", () => {
  it("closes promptly despite keep-alive connections and pending delays", async () => {
    const emulator = await startGitLabEmulator({ application: demoApplication(APP_URL), users: demoUsers });
    await (await fetch(new URL("/api/v4/user", emulator.url))).text();
    emulator.setFault("user", { delayMs: 10_000 });
    const pending = fetch(new URL("/api/v4/user", emulator.url)).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await emulator.close();
    assert.ok(performance.now() - started < 1000);
    assert.ok((await pending) instanceof Error);
  });
});
