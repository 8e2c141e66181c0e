// The admin console in Debian's Chromium: sign in through the GitLab emulator's page, enable
// synchronization, create a group, watch a member arrive, block sign-up.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "./support/chromium.js";
import { startStack } from "./support/stack.js";
import type { Stack } from "./support/stack.js";

let stack: Stack;

before(async () => {
  stack = await startStack({
    users: [
      { id: 1, username: "root", name: "Root Admin", email: "root@example.com" },
      { id: 2, username: "alice", name: "Alice Liddell", email: "alice@example.com", groups: ["acme/platform"] },
      { id: 3, username: "mallory", name: "Mallory Unknown", email: "mallory@example.com", groups: ["acme/platform"] },
    ],
    groups: ["acme/platform"],
    env: { INITIAL_ADMINS: "root" },
  });
});
after(() => stack.close());

describe("console page and script over HTTP", () => {
  test("serves the start page with a strict Content-Security-Policy and a sign-in button", async () => {
    const response = await stack.browser().fetch("/");
    assert.equal(response.status, 200);
    const csp = response.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self';/);
    assert.match(csp, /style-src 'nonce-[A-Za-z0-9_-]+';/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(response.headers.get("cache-control"), "no-store");
    const html = await response.text();
    assert.match(html, /<a class="button" href="\/auth\/gitlab\/login">Sign in with GitLab<\/a>/);
    assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, "no inline script");
    const nonce = /style-src 'nonce-([^']+)'/.exec(csp)![1]!;
    assert.ok(html.includes(`<style nonce="${nonce}">`));
  });

  test("serves the console script cacheable at its versioned address and revalidates it by ETag", async () => {
    const html = await (await stack.browser().fetch("/")).text();
    const src = /<script src="([^"]+)" defer><\/script>/.exec(html)![1]!;
    assert.match(src, /^\/assets\/console\.js\?v=[A-Za-z0-9_-]{16}$/);
    const response = await fetch(stack.url + src);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(response.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    const script = await response.text();
    assert.ok(script.length > 1000);
    const unversioned = await fetch(`${stack.url}/assets/console.js`, { headers: { "if-none-match": response.headers.get("etag")! } });
    assert.equal(unversioned.status, 304);
    assert.equal(unversioned.headers.get("cache-control"), "public, max-age=300");
  });
});

/**
 * The console script as the Lambda bundle serves it: built with serverless.yml's esbuild options
 * (minified, no kept names), so the browser runs the production text, not the test runner's.
 */
async function bundledConsoleScript(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "console-bundle-"));
  try {
    const outfile = join(directory, "assets.mjs");
    await build({ entryPoints: ["lib/console/assets.ts"], outfile, bundle: true, minify: true, format: "esm", platform: "node", target: "node20", logLevel: "silent" });
    const module: { consoleScript: string } = await import(pathToFileURL(outfile).href);
    return module.consoleScript;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

describe("admin console in Chromium", () => {
  let chromium: Browser;
  let script: string;
  const problems: string[] = [];

  before(async () => {
    [chromium, script] = await Promise.all([launchChromium(), bundledConsoleScript()]);
    assert.doesNotMatch(script, /__name\(/, "the production bundle keeps no names");
  });
  after(() => chromium?.close());

  async function newContext(): Promise<BrowserContext> {
    const context = await chromium.newContext();
    await context.route("**/assets/console.js*", (route) => route.fulfill({ status: 200, contentType: "text/javascript; charset=utf-8", body: script }));
    return context;
  }

  async function openPage(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    // A CSP violation or a script error shows up here.
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      // Expected answers (a 400 with validation messages, the 403 refusal page) are not problems.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(`console: ${message.text()}`);
    });
    return page;
  }

  async function signInThroughGitLab(page: Page, login: string): Promise<void> {
    await page.goto(stack.url + "/");
    await page.getByRole("link", { name: "Sign in with GitLab" }).click();
    await page.getByRole("link", { name: `Sign in as ${login}` }).click();
  }

  async function saved(page: Page, message: string): Promise<void> {
    await page.locator("#status", { hasText: message }).waitFor({ state: "attached" });
  }

  test("an initial admin enables synchronization, a group fills from GitLab, and blocked sign-up refuses newcomers", async () => {
    const admin = await openPage(await newContext());
    await signInThroughGitLab(admin, "root");
    await admin.getByRole("heading", { name: "GitLab authentication" }).waitFor();
    assert.equal(await admin.getByRole("link", { name: "GitLab settings" }).getAttribute("aria-current"), "page");

    // Synchronization on; the warning about manual memberships is next to the checkbox.
    const synchronize = admin.getByLabel("Synchronize user groups");
    assert.equal(await synchronize.isChecked(), false);
    assert.match((await admin.locator("form").textContent()) ?? "", /existing manually added group memberships of GitLab-provisioned users are reset/);
    await synchronize.check();
    await admin.getByRole("button", { name: "Save" }).click();
    await saved(admin, "Settings saved.");

    // A validation message from the API shows next to its field.
    await admin.getByLabel("GitLab URL").fill("ftp://gitlab.example.com");
    await admin.getByRole("button", { name: "Save" }).click();
    await admin.getByRole("alert").getByRole("link", { name: "GitLab URL" }).waitFor();
    const url = admin.getByLabel("GitLab URL");
    assert.equal(await url.getAttribute("aria-invalid"), "true");
    const describedBy = (await url.getAttribute("aria-describedby"))!.split(" ");
    const description = await Promise.all(describedBy.map((id) => admin.locator(`#${id}`).textContent()));
    assert.match(description.join(" "), /GitLab URL must be an http\(s\) URL/, "the message is tied to its field");

    await admin.getByRole("link", { name: "Groups" }).click();
    await admin.getByRole("heading", { name: "Groups", level: 1 }).waitFor();
    await admin.getByLabel("Name", { exact: true }).fill("acme/platform");
    await admin.getByRole("button", { name: "Create group" }).click();
    await saved(admin, "Group acme/platform created.");

    // Alice is in the GitLab group: her first sign-in puts her in the local group.
    const member = await openPage(await newContext());
    await signInThroughGitLab(member, "alice");
    await member.getByRole("heading", { name: "Signed in as alice" }).waitFor();
    await member.getByRole("listitem").filter({ hasText: "acme/platform" }).waitFor();
    assert.equal(await member.getByRole("navigation", { name: "Console" }).count(), 0, "no console for non-admins");

    await admin.getByRole("link", { name: "Members of acme/platform" }).click();
    const row = admin.getByRole("row").filter({ hasText: "alice" });
    await row.waitFor();
    assert.match((await row.textContent()) ?? "", /GitLab synchronization/);
    const remove = row.getByRole("button", { name: "Remove alice from acme/platform" });
    assert.equal(await remove.isDisabled(), true, "manual membership controls are off for GitLab users while sync is on");
    assert.match((await row.textContent()) ?? "", /Synchronization is on/);

    await admin.getByRole("link", { name: "Users" }).click();
    const aliceRow = admin.getByRole("row").filter({ has: admin.getByRole("link", { name: "alice", exact: true }) });
    await aliceRow.waitFor();
    assert.match((await aliceRow.textContent()) ?? "", /GitLab.*Active.*acme\/platform/);

    // An unlinked user, created and then deactivated after confirming.
    await admin.getByLabel("Login", { exact: true }).fill("bob");
    await admin.getByRole("button", { name: "Create user" }).click();
    await saved(admin, "User bob created.");
    const bobRow = admin.getByRole("row").filter({ has: admin.getByRole("link", { name: "bob", exact: true }) });
    assert.match((await bobRow.textContent()) ?? "", /Created here \(not linked yet\).*Active/);
    admin.once("dialog", (dialog) => void dialog.accept());
    await bobRow.getByRole("button", { name: "Deactivate bob" }).click();
    await saved(admin, "bob deactivated.");
    await admin.getByRole("row").filter({ has: admin.getByRole("button", { name: "Reactivate bob" }) }).getByText("Deactivated").waitFor();

    await admin.getByRole("link", { name: "GitLab settings" }).click();
    await admin.getByLabel("Allow new users to sign up").uncheck();
    await admin.getByRole("button", { name: "Save" }).click();
    await saved(admin, "Settings saved.");

    const stranger = await openPage(await newContext());
    await signInThroughGitLab(stranger, "mallory");
    await stranger.getByText("not allowed to sign up").waitFor();

    await admin.getByRole("link", { name: "Audit log" }).click();
    const refusal = admin.getByRole("row").filter({ hasText: "signin.refused" });
    await refusal.waitFor();
    assert.match((await refusal.textContent()) ?? "", /mallory.*signup_blocked/);
    await admin.getByRole("row").filter({ hasText: "membership.added" }).filter({ hasText: "alice" }).waitFor();

    // Sign out ends the session: the start page offers sign-in again.
    await member.getByRole("button", { name: "Sign out" }).click();
    await member.getByRole("link", { name: "Sign in with GitLab" }).waitFor();

    assert.deepEqual(problems, []);
  });
});
