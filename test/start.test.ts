// `npm start` must keep working on embedded defaults: DynamoDB Local, the GitLab emulator and
// serverless-offline, end to end through a sign-in.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, test } from "node:test";
import { getFreePort } from "../infra/dynamodb-local.js";

let stop: (() => void) | null = null;
after(() => stop?.());

test("npm start serves the API and a sign-in through the demo GitLab", { timeout: 180_000 }, async () => {
  const port = await getFreePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
  for (const name of ["AWS_ENDPOINT_URL_DYNAMODB", "GITLAB_URL", "PUBLIC_URL", "TABLE_NAME", "GITLAB_APPLICATION_ID", "GITLAB_SECRET", "INITIAL_ADMINS"]) delete env[name];
  const child = spawn("npm", ["start"], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  stop = () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // already gone
    }
  };
  let output = "";
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Press Ctrl+C to stop.")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  const base = `http://localhost:${port}`;
  assert.match(output, new RegExp(`open ${base}/`));
  assert.match(output, /ada .*initial admin/);

  assert.equal((await fetch(`${base}/api/me`)).status, 401);
  const home = await fetch(`${base}/`);
  assert.equal(home.status, 200);
  const script = /<script[^>]+src="([^"]+)"/.exec(await home.text())?.[1];
  assert.ok(script !== undefined, "the start page loads the console script");
  const consoleScript = await fetch(`${base}${script}`);
  assert.equal(consoleScript.status, 200);
  assert.match(consoleScript.headers.get("content-type") ?? "", /javascript/);
  const login = await fetch(`${base}/auth/gitlab/login`, { redirect: "manual" });
  assert.equal(login.status, 302);
  const stateCookie = login.headers.getSetCookie()[0]!.split(";")[0]!;
  const authorize = new URL(login.headers.get("location")!);
  assert.match(await (await fetch(authorize)).text(), /Sign in as ada/);
  authorize.searchParams.set("login", "ada");
  const approved = await fetch(authorize, { redirect: "manual" });
  const callback = new URL(approved.headers.get("location")!);
  const signedIn = await fetch(`${base}${callback.pathname}${callback.search}`, { redirect: "manual", headers: { cookie: stateCookie } });
  assert.equal(signedIn.status, 302);
  const session = signedIn.headers.getSetCookie().find((cookie) => cookie.startsWith("session="))!.split(";")[0]!;
  const me = await fetch(`${base}/api/me`, { headers: { cookie: session } });
  assert.equal(me.status, 200);
  const body = await me.json();
  assert.equal(body.login, "ada");
  assert.deepEqual(body.permissions, ["admin"]);
});

test("npm start says what to install when Java is missing", { timeout: 60_000 }, async () => {
  // A PATH with node, npm and a shell, but no java.
  const { mkdtemp, symlink } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const bin = await mkdtemp(join(tmpdir(), "no-java-"));
  await symlink(process.execPath, join(bin, "node"));
  // npm sets npm_execpath for the scripts it runs; the fallback is npm's place next to node.
  const npmCli = process.env.npm_execpath ?? join(process.execPath, "..", "..", "lib", "node_modules", "npm", "bin", "npm-cli.js");
  await symlink(npmCli, join(bin, "npm"));
  await symlink("/bin/sh", join(bin, "sh"));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin, PORT: String(await getFreePort()) };
  delete env.AWS_ENDPOINT_URL_DYNAMODB;
  const child = spawn(join(bin, "npm"), ["start"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.notEqual(code, 0);
  assert.match(output, /needs Java 17 or newer/);
  assert.match(output, /openjdk-17-jre-headless/);
});
