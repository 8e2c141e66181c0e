// Helpers shared by the hardening suites (concurrency, faults, hostile input): prepared sign-ins
// that can be fired at once, a direct look at the table for invariants, and admin shortcuts.
import assert from "node:assert/strict";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import type { Browser } from "./browser.js";
import type { Stack } from "./stack.js";

/** Starts a sign-in and approves it at GitLab: the callback path, ready to be fired later. */
export async function prepareCallback(browser: Browser, login: string, returnTo?: string): Promise<string> {
  const callback = await browser.approveAtGitLab(await browser.startSignIn(returnTo), login);
  return callback.pathname + callback.search;
}

export async function signedInAdmin(stack: Stack, login = "root"): Promise<Browser> {
  const browser = stack.browser();
  const outcome = await browser.signIn(login);
  assert.equal(outcome.response.status, 302, `admin sign-in: ${outcome.body}`);
  return browser;
}

/** A sign-in outcome in a line: the status, and the page's message when it is not a redirect. */
export function outcomeSummary(status: number, body: string): string {
  if (status === 302) return "302";
  return `${status} ${/<p>([^<]*)<\/p>/.exec(body)?.[1] ?? body.slice(0, 200)}`;
}

/** Every item of a listing, following nextCursor. */
export async function listAll(browser: Browser, path: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const page = await browser.json(`${path}${separator}limit=100${cursor === null ? "" : `&cursor=${cursor}`}`);
    assert.equal(page.status, 200, `${path}: ${JSON.stringify(page.body)}`);
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  return items;
}

export async function patchSettings(admin: Browser, change: Record<string, unknown>): Promise<void> {
  const response = await admin.json("/api/settings/gitlab", { method: "PATCH", body: JSON.stringify(change) });
  assert.equal(response.status, 200, JSON.stringify(response.body));
}

export async function createGroup(admin: Browser, name: string, permissions: string[] = []): Promise<string> {
  const response = await admin.json("/api/groups", { method: "POST", body: JSON.stringify({ name, permissions }) });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.id;
}

const tableReader = DynamoDBDocumentClient.from(new DynamoDBClient({}));

/** The raw items of the stack's table: for invariants the API cannot show (orphans, half-writes). */
export async function scanTable(stack: Stack): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let startKey: Record<string, any> | undefined;
  do {
    const page = await tableReader.send(new ScanCommand({ TableName: stack.tableName, ExclusiveStartKey: startKey, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

/** Every item but the short-lived sign-in states (a callback consumes its own): what a failure must not change. */
export async function durableState(stack: Stack): Promise<string[]> {
  const items = await scanTable(stack);
  return items
    .filter((item) => !String(item.pk).startsWith("OAUTHSTATE#"))
    .map((item) => JSON.stringify(item, Object.keys(item).sort()))
    .sort();
}

/** Membership items whose user or group does not exist: must always be empty. */
export async function orphanMemberships(stack: Stack): Promise<Record<string, any>[]> {
  const items = await scanTable(stack);
  const keys = new Set(items.map((item) => `${item.pk}|${item.sk}`));
  return items.filter(
    (item) => String(item.sk).startsWith("MEMBER#") && (!keys.has(`${item.pk}|PROFILE`) || !keys.has(`GROUP#${item.groupId}|GROUP`)),
  );
}

/** A small deterministic generator, so a failing race can be replayed with the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** fast-check's failure with the assertion that failed, which node's reporter would not show. */
export async function assertProperty<T>(property: fc.IAsyncProperty<T> | fc.IProperty<T>, parameters: fc.Parameters<T>): Promise<void> {
  try {
    await fc.assert(property as fc.IAsyncProperty<T>, parameters);
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `\n${error.cause.message}` : "";
    throw new Error(`${error instanceof Error ? error.message : String(error)}${cause}`);
  }
}

/** A Content-Security-Policy that allows no inline or foreign script, no framing, no plugins. */
export function assertStrictCSP(policy: string | null, context: string): void {
  assert.ok(policy, `no Content-Security-Policy: ${context}`);
  const directives = new Map(
    policy.split(";").map((directive) => {
      const [name, ...values] = directive.trim().split(/\s+/);
      return [name!.toLowerCase(), values] as const;
    }),
  );
  assert.deepEqual(directives.get("default-src"), ["'none'"], `default-src: ${context}`);
  assert.deepEqual(directives.get("frame-ancestors"), ["'none'"], `frame-ancestors: ${context}`);
  assert.deepEqual(directives.get("base-uri"), ["'none'"], `base-uri: ${context}`);
  assert.ok(["'self'", "'none'"].includes(directives.get("form-action")?.join(" ") ?? ""), `form-action: ${context}`);
  for (const [name, values] of directives) {
    for (const value of values) {
      assert.ok(!/^'unsafe-|^\*$|^data:$|^https?:$|^blob:$/.test(value), `${name} allows ${value}: ${context}`);
    }
  }
  for (const value of directives.get("script-src") ?? []) assert.match(value, /^'self'$|^'none'$|^'nonce-[A-Za-z0-9_+/=-]{16,}'$/, `script-src: ${context}`);
}

/** The headers every response of ours carries; pages also get a strict CSP. */
export function assertSecurityHeaders(response: Response, context: string): void {
  const headers = response.headers;
  assert.equal(headers.get("x-content-type-options"), "nosniff", context);
  // The console's script is public and versioned: the one response that may be cached.
  if (new URL(response.url).pathname.startsWith("/assets/")) return;
  assert.equal(headers.get("cache-control"), "no-store", context);
  assert.equal(headers.get("referrer-policy"), "no-referrer", context);
  assert.equal(headers.get("x-frame-options"), "DENY", context);
  if ((headers.get("content-type") ?? "").startsWith("text/html")) assertStrictCSP(headers.get("content-security-policy"), context);
}
