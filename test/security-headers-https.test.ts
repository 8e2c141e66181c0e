// A deployment whose PUBLIC_URL is https: every response carries HSTS and every cookie is Secure.
// The service is still reached over loopback http here; what matters is what it sends.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertSecurityHeaders } from "./support/hardening.js";
import { startStack } from "./support/stack.js";
import type { Stack } from "./support/stack.js";

const publicURL = "https://gitlab-jit.example";
let stack: Stack;

before(async () => {
  stack = await startStack({ env: { PUBLIC_URL: publicURL } });
});
after(() => stack.close());

function assertHSTS(response: Response, what: string): void {
  assertSecurityHeaders(response, what);
  const hsts = response.headers.get("strict-transport-security") ?? "";
  const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1] ?? 0);
  assert.ok(maxAge >= 31_536_000, `HSTS for at least a year: ${what}: ${hsts}`);
  assert.match(hsts, /includeSubDomains/, what);
}

test("every response carries HSTS when PUBLIC_URL is https", async () => {
  const requests: [string, RequestInit & { path: string }, number][] = [
    ["start page", { path: "/" }, 200],
    ["login redirect", { path: "/auth/gitlab/login" }, 302],
    ["callback without state", { path: "/auth/gitlab/callback?code=x&state=y" }, 400],
    ["unauthenticated API", { path: "/api/me" }, 401],
    ["not found", { path: "/api/nothing" }, 404],
    ["sign-out", { path: "/auth/logout", method: "POST", headers: { origin: publicURL } }, 204],
    ["sign-out from another origin", { path: "/auth/logout", method: "POST", headers: { origin: stack.url } }, 403],
    ["too large", { path: "/auth/logout", method: "POST", headers: { origin: publicURL }, body: "x".repeat(2 * 1024 * 1024) }, 413],
  ];
  for (const [what, { path, ...init }, status] of requests) {
    const response = await fetch(`${stack.url}${path}`, { ...init, redirect: "manual" });
    assert.equal(response.status, status, what);
    assertHSTS(response, what);
  }
});

test("cookies are Secure and the GitLab redirect URI is the https address", async () => {
  const login = await fetch(`${stack.url}/auth/gitlab/login`, { redirect: "manual" });
  const authorize = new URL(login.headers.get("location")!);
  assert.equal(authorize.searchParams.get("redirect_uri"), `${publicURL}/auth/gitlab/callback`);
  const logout = await fetch(`${stack.url}/auth/logout`, { method: "POST", headers: { origin: publicURL } });
  const cookies = [...login.headers.getSetCookie(), ...logout.headers.getSetCookie()];
  assert.equal(cookies.length, 2);
  for (const cookie of cookies) assert.match(cookie, /; Secure(;|$)/, cookie);
});
