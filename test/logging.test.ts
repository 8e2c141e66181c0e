// Logs are JSON lines with a request id, and a whole sign-in plus API use with a Bearer token
// writes none of the secrets that pass through: the GitLab secret (read from SSM, as deployed),
// the OAuth code, state and PKCE verifier, GitLab's access token, the session and API tokens.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { startParameterStore } from "./support/parameter-store.js";
import type { ParameterStore } from "./support/parameter-store.js";
import { applicationSecret, startStack } from "./support/stack.js";
import type { Stack } from "./support/stack.js";

const secretParameter = "/gitlab-jit/test/gitlab-secret";
let stack: Stack;
let store: ParameterStore;
let gitlabProxy: RecordingProxy;

/** Sits between the service and the GitLab emulator to learn the access tokens GitLab issues. */
interface RecordingProxy {
  url: string;
  target: string;
  accessTokens: Set<string>;
  close(): Promise<void>;
}

async function startRecordingProxy(): Promise<RecordingProxy> {
  const proxy: RecordingProxy = { url: "", target: "", accessTokens: new Set(), close: async () => {} };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers)) if (name !== "host" && typeof value === "string") headers.set(name, value);
      const bearer = /^Bearer (.+)$/.exec(headers.get("authorization") ?? "")?.[1];
      if (bearer !== undefined) proxy.accessTokens.add(bearer);
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const upstream = await fetch(`${proxy.target}${request.url}`, { method: request.method, headers, body, redirect: "manual" });
      const text = await upstream.text();
      if (request.url?.startsWith("/oauth/token") && upstream.ok) proxy.accessTokens.add(JSON.parse(text).access_token);
      const passHeaders: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (!["content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"].includes(name)) passHeaders[name] = value;
      });
      response.writeHead(upstream.status, passHeaders);
      response.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

before(async () => {
  // test/run.ts silences logs for the suite; this file is about them.
  process.env.LOG_LEVEL = "info";
  store = await startParameterStore({ [secretParameter]: applicationSecret });
  gitlabProxy = await startRecordingProxy();
  stack = await startStack({
    users: [{ id: 7001, username: "ada", name: "Ada Lovelace", email: "ada@example.com", groups: ["acme"] }],
    groups: ["acme"],
    env: {
      INITIAL_ADMINS: "ada",
      GITLAB_URL: gitlabProxy.url,
      // As deployed: no secret in the environment, only the name of its SSM parameter.
      GITLAB_SECRET: "",
      GITLAB_SECRET_PARAMETER: secretParameter,
      AWS_ENDPOINT_URL_SSM: store.url,
    },
  });
  gitlabProxy.target = stack.gitlab.url;
});

after(async () => {
  await stack.close();
  await gitlabProxy.close();
  await store.close();
});

/** Collects our JSON log lines written while `run` runs; everything else passes through. */
async function captureLogs(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === "string" && chunk.startsWith('{"level"')) {
      lines.push(...chunk.split("\n").filter((line) => line !== ""));
      return true;
    }
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    await run();
  } finally {
    process.stdout.write = write;
  }
  return lines;
}

test("a sign-in and Bearer-token API calls log request ids and no secret", async () => {
  const secrets = new Map<string, string>();
  const browser = stack.browser();
  let requests = 0;
  const lines = await captureLogs(async () => {
    const authorizeURL = await browser.startSignIn("/api/me");
    const callbackURL = await browser.approveAtGitLab(authorizeURL, "ada");
    const signedIn = await browser.fetch(callbackURL.pathname + callbackURL.search);
    assert.equal(signedIn.status, 302, "the sign-in works with the secret read from SSM");
    secrets.set("OAuth state", authorizeURL.searchParams.get("state")!);
    secrets.set("OAuth code", callbackURL.searchParams.get("code")!);
    secrets.set("PKCE verifier", stack.gitlab.lastTokenRequest()!.params.code_verifier!);
    secrets.set("session token", browser.sessionToken()!);

    // The same callback again: refused, and that path logs too.
    const replayed = await browser.fetch(callbackURL.pathname + callbackURL.search);
    assert.equal(replayed.status, 400);

    const me = await browser.json("/api/me");
    assert.equal(me.status, 200);
    const created = await browser.json("/api/tokens", { method: "POST", body: JSON.stringify({ name: "ci" }) });
    assert.equal(created.status, 201);
    const apiToken: string = created.body.token;
    secrets.set("API token", apiToken);

    const bearer = { authorization: `Bearer ${apiToken}` };
    const users = await fetch(`${stack.url}/api/users`, { headers: bearer });
    assert.equal(users.status, 200);
    const settings = await fetch(`${stack.url}/api/settings/gitlab`, { headers: bearer });
    assert.equal(settings.status, 200);
    const rotated = "rotated-secret-0123456789abcdef";
    secrets.set("new GitLab secret", rotated);
    const patched = await fetch(`${stack.url}/api/settings/gitlab`, {
      method: "PATCH",
      headers: { ...bearer, "content-type": "application/json", "if-match": settings.headers.get("etag")! },
      body: JSON.stringify({ secret: rotated }),
    });
    assert.equal(patched.status, 200);
    const wrongToken = await fetch(`${stack.url}/api/me`, { headers: { authorization: `Bearer ${apiToken.slice(0, -4)}AAAA` } });
    assert.equal(wrongToken.status, 401);
    const logout = await browser.fetch("/auth/logout", { method: "POST" });
    assert.equal(logout.status, 204);
    requests = 10;
  });

  secrets.set("GitLab secret", applicationSecret);
  for (const [index, token] of [...gitlabProxy.accessTokens].entries()) secrets.set(`GitLab access token ${index + 1}`, token);
  assert.ok(gitlabProxy.accessTokens.size >= 1, "the proxy saw GitLab's access token");
  assert.equal(store.requests.filter((request) => request.name === secretParameter).length, 1, "the secret is read once, at cold start");

  assert.ok(lines.length >= requests, `expected a log line per request, got ${lines.length}`);
  const requestIds = new Set<string>();
  for (const line of lines) {
    const entry = JSON.parse(line);
    assert.ok(["debug", "info", "warn", "error"].includes(entry.level), line);
    assert.ok(!Number.isNaN(Date.parse(entry.time)), line);
    assert.equal(typeof entry.message, "string", line);
    assert.match(entry.requestId, /^[0-9a-f-]{36}$/, line);
    requestIds.add(entry.requestId);
  }
  assert.ok(requestIds.size >= requests, "each request logs under its own id");

  const text = lines.join("\n");
  for (const [what, value] of secrets) {
    assert.ok(value.length >= 16, `${what} is long enough to search for`);
    assert.ok(!text.includes(value), `the logs contain the ${what}`);
  }
});
