// `npm run bench`: what a deploy uploads and what a sign-in costs, measured on this machine.
// 1. Bundles: `osls package`'s zips, their size, and the cold import time of each bundle in fresh
//    `node` processes (from a folder without node_modules, as on Lambda), compared with bundles
//    that would take the AWS SDK from the Lambda runtime instead.
// 2. The sign-in callback against DynamoDB Local and the GitLab emulator, through the local
//    server (infra/local-server.ts) in this process: latency, throughput, DynamoDB and GitLab
//    requests, and CPU per sign-in, for new and returning users in 1, 100 and 1,000 GitLab groups,
//    with group synchronization off and on. The emulator runs in a child process so that this
//    process's CPU time is the service's own (plus the local HTTP round trip, measured apart).
import { fork, execFileSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import type { BuildOptions } from "esbuild";
import { createTable } from "./create-table.js";
import { getFreePort, startDynamoDBLocal } from "./dynamodb-local.js";
import { startGitLabEmulator } from "./gitlab-emulator.js";
import type { EmulatorRoute, EmulatorUser, StartEmulatorOptions } from "./gitlab-emulator.js";
import { startLocalServer } from "./local-server.js";
import { packageService } from "./package.js";

const emulatorProcessFlag = "--gitlab-emulator-process";
const importRuns = 15;
const groupCounts = [1, 100, 1000];
const applicationId = "bench-app";
const applicationSecret = "bench-secret-0123456789abcdef";

// ---- Statistics and printing

function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

const median = (values: number[]): number => percentile(values, 0.5);
const kb = (bytes: number): string => `${(bytes / 1000).toFixed(1)} KB`;
const ms = (value: number): string => (value < 10 ? value.toFixed(2) : value.toFixed(1));

function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(" | ")} |`;
  console.log(`\n${title}\n`);
  console.log(line(header));
  console.log(`|${widths.map((width, column) => (column === 0 ? `:${"-".repeat(width + 1)}` : `${"-".repeat(width + 1)}:`)).join("|")}|`);
  for (const row of rows) console.log(line(row));
}

// ---- Bundles

/** Median and p90 of `import()` of a bundle, each in a fresh process. */
function coldImport(path: string, cwd: string): { median: number; p90: number } {
  const script = `const started = performance.now(); await import(${JSON.stringify(path)}); console.log(performance.now() - started);`;
  const times: number[] = [];
  for (let run = 0; run < importRuns; run++) {
    const output = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd,
      env: { PATH: process.env.PATH, AWS_REGION: "eu-west-1", TABLE_NAME: "gitlab-jit-bench", PUBLIC_URL: "https://example.com" },
      stdio: ["ignore", "pipe", "ignore"],
    });
    times.push(Number(output.toString().trim()));
  }
  return { median: median(times), p90: percentile(times, 0.9) };
}

async function benchBundles(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), "gitlab-jit-bench-"));
  try {
    const packaged = await packageService("bench", join(directory, "package"));
    const rows: string[][] = [];
    for (const fn of packaged.functions) {
      const path = join(directory, "lambda", fn.bundlePath);
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, fn.bundle);
      const timing = coldImport(path, directory);
      rows.push([fn.name, kb(fn.bundle.length), kb(gzipSync(fn.bundle, { level: 9 }).length), kb(fn.zipBytes), ms(timing.median), ms(timing.p90)]);
    }
    printTable(
      `Bundles as deployed (osls package; SDK bundled), cold import in ${importRuns} fresh node processes`,
      ["function", "minified", "gzip -9", "zip", "import median ms", "p90 ms"],
      rows,
    );

    // The alternative: the same build with the SDK left to the runtime's copy. It is resolved
    // from this project's node_modules here, as Lambda resolves it from /var/runtime.
    // serverless.yml's esbuild settings, less those of the plugin's own.
    const { exclude: _exclude, outputFileExtension: _extension, outputWorkFolder: _folder, ...options } = JSON.parse(packaged.stateText).service.custom.esbuild;
    const runtimeRows: string[][] = [];
    const runtimeFolder = join(".esbuild", `bench-runtime-sdk-${randomBytes(4).toString("hex")}`);
    try {
      for (const fn of packaged.functions) {
        const outfile = join(process.cwd(), runtimeFolder, `${fn.name}.mjs`);
        await build({ ...(options as BuildOptions), entryPoints: [`functions/${fn.name}.ts`], outfile, external: ["@aws-sdk/*", "@smithy/*"], logLevel: "silent" });
        const bundle = readFileSync(outfile);
        const timing = coldImport(outfile, process.cwd());
        runtimeRows.push([fn.name, kb(bundle.length), kb(gzipSync(bundle, { level: 9 }).length), ms(timing.median), ms(timing.p90)]);
      }
    } finally {
      rmSync(runtimeFolder, { recursive: true, force: true });
    }
    printTable("For comparison, not deployed: the SDK taken from the runtime (here: node_modules)", ["function", "minified", "gzip -9", "import median ms", "p90 ms"], runtimeRows);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

// ---- The GitLab emulator in a child process

interface RemoteEmulator {
  url: string;
  upsertUsers(users: EmulatorUser[]): Promise<void>;
  requestCounts(): Promise<Record<EmulatorRoute, number>>;
  close(): Promise<void>;
}

async function serveEmulator(): Promise<void> {
  const emulator = await startGitLabEmulator(JSON.parse(process.env.BENCH_EMULATOR_OPTIONS!) as StartEmulatorOptions);
  process.on("message", async (message: { id: number; method: string; users?: EmulatorUser[] }) => {
    let result: unknown = null;
    if (message.method === "upsertUsers") for (const user of message.users ?? []) emulator.upsertUser(user);
    if (message.method === "requestCounts") result = emulator.requestCounts();
    if (message.method === "close") await emulator.close();
    process.send!({ id: message.id, result });
    if (message.method === "close") process.disconnect();
  });
  process.send!({ id: 0, result: emulator.url });
}

async function startRemoteEmulator(options: StartEmulatorOptions): Promise<RemoteEmulator> {
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, [emulatorProcessFlag], {
    env: { ...process.env, BENCH_EMULATOR_OPTIONS: JSON.stringify(options) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, (result: unknown) => void>();
  let nextId = 1;
  child.on("message", (message: { id: number; result: unknown }) => {
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  });
  const call = (method: string, extra: object = {}): Promise<unknown> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ id, method, ...extra });
    });
  const url = await new Promise<string>((resolve) => pending.set(0, (result) => resolve(String(result))));
  return {
    url,
    upsertUsers: async (users) => void (await call("upsertUsers", { users })),
    requestCounts: async () => (await call("requestCounts")) as Record<EmulatorRoute, number>,
    close: async () => void (await call("close")),
  };
}

// ---- Sign-ins

interface PreparedSignIn {
  cookie: string;
  callback: string;
}

interface Sample {
  ms: number;
  cpuMs: number;
  dynamoDB: number;
  gitlab: number;
}

interface CaseResult {
  groups: number;
  sync: boolean;
  kind: "new" | "returning";
  samples: Sample[];
  perSecond: number;
  concurrent: number;
  concurrency: number;
}

async function benchSignIns(): Promise<{ results: CaseResult[]; baselineCPU: number; setupSeconds: number }> {
  const dynamo = await startDynamoDBLocal();
  const tableName = `bench-${randomBytes(4).toString("hex")}`;
  const port = await getFreePort();
  const url = `http://127.0.0.1:${port}`;
  const allGroups = Array.from({ length: Math.max(...groupCounts) }, (_, index) => `bench-${String(index + 1).padStart(4, "0")}`);
  const emulator = await startRemoteEmulator({
    application: { applicationId, secret: applicationSecret, redirectURIs: [`${url}/auth/gitlab/callback`] },
    groups: allGroups,
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: "local",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    PUBLIC_URL: url,
    PORT: String(port),
    TABLE_NAME: tableName,
    GITLAB_URL: emulator.url,
    GITLAB_APPLICATION_ID: applicationId,
    GITLAB_SECRET: applicationSecret,
    INITIAL_ADMINS: "bench-admin",
    LOG_LEVEL: "silent",
  });
  await createTable(tableName);
  const server = await startLocalServer(port);
  const { dynamoDBRequestCount } = await import("../lib/db.js");

  async function prepare(login: string): Promise<PreparedSignIn> {
    const response = await fetch(`${url}/auth/gitlab/login`, { redirect: "manual" });
    const authorize = new URL(response.headers.get("location")!);
    authorize.searchParams.set("login", login);
    const approved = await fetch(authorize, { redirect: "manual" });
    return { cookie: response.headers.getSetCookie()[0]!.split(";")[0]!, callback: approved.headers.get("location")! };
  }

  async function callback(prepared: PreparedSignIn): Promise<string> {
    const response = await fetch(prepared.callback, { redirect: "manual", headers: { cookie: prepared.cookie } });
    await response.body?.cancel();
    if (response.status !== 302) throw new Error(`sign-in answered ${response.status}`);
    return response.headers.getSetCookie().find((cookie) => cookie.startsWith("session="))!.split(";")[0]!;
  }

  const gitlabServiceRequests = (counts: Record<EmulatorRoute, number>): number => counts.token + counts.user + counts.groups;

  async function sequential(logins: string[]): Promise<Sample[]> {
    const samples: Sample[] = [];
    for (const login of logins) {
      const prepared = await prepare(login);
      const gitlabBefore = gitlabServiceRequests(await emulator.requestCounts());
      const dynamoBefore = dynamoDBRequestCount();
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await callback(prepared);
      const elapsed = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      samples.push({
        ms: elapsed,
        cpuMs: (cpu.user + cpu.system) / 1000,
        dynamoDB: dynamoDBRequestCount() - dynamoBefore,
        gitlab: gitlabServiceRequests(await emulator.requestCounts()) - gitlabBefore,
      });
    }
    return samples;
  }

  async function throughput(logins: string[], concurrency: number): Promise<number> {
    const prepared: PreparedSignIn[] = [];
    for (const login of logins) prepared.push(await prepare(login));
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < prepared.length) await callback(prepared[next++]!);
      }),
    );
    return prepared.length / ((performance.now() - started) / 1000);
  }

  const setupStarted = performance.now();
  await emulator.upsertUsers([{ id: 1, username: "bench-admin", name: "Bench Admin", email: "bench-admin@example.com" }]);
  const adminCookie = await callback(await prepare("bench-admin"));
  const tokenResponse = await fetch(`${url}/api/tokens`, {
    method: "POST",
    headers: { cookie: adminCookie, origin: url, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench" }),
  });
  const bearer = { authorization: `Bearer ${((await tokenResponse.json()) as { token: string }).token}`, "content-type": "application/json" };
  async function setSynchronization(enabled: boolean): Promise<void> {
    const response = await fetch(`${url}/api/settings/gitlab`, { method: "PATCH", headers: bearer, body: JSON.stringify({ synchronizeGroups: enabled }) });
    if (response.status !== 200) throw new Error(`settings answered ${response.status}`);
  }
  // Matching local groups, one per GitLab group, for synchronization to map.
  for (const name of allGroups) {
    const response = await fetch(`${url}/api/groups`, { method: "POST", headers: bearer, body: JSON.stringify({ name }) });
    if (response.status !== 201) throw new Error(`creating group ${name} answered ${response.status}`);
  }
  const setupSeconds = (performance.now() - setupStarted) / 1000;

  // What the HTTP round trip itself costs this process: a request the handler refuses at once.
  const baseline: number[] = [];
  for (let run = 0; run < 200; run++) {
    const before = process.cpuUsage();
    const response = await fetch(`${url}/api/me`);
    await response.body?.cancel();
    const cpu = process.cpuUsage(before);
    baseline.push((cpu.user + cpu.system) / 1000);
  }
  const baselineCPU = median(baseline);

  const results: CaseResult[] = [];
  let nextUserId = 100;
  for (const sync of [false, true]) {
    await setSynchronization(sync);
    for (const groups of groupCounts) {
      const [sequentialCount, concurrentCount, concurrency] = groups >= 1000 ? [10, 20, 5] : groups >= 100 ? [25, 50, 8] : [40, 80, 8];
      const users = Array.from({ length: sequentialCount + concurrentCount }, (_, index) => ({
        id: nextUserId++,
        username: `u${sync ? "on" : "off"}-${groups}-${index}`,
        name: `Bench User ${index}`,
        email: `u${sync ? "on" : "off"}-${groups}-${index}@example.com`,
        groups: allGroups.slice(0, groups),
      }));
      await emulator.upsertUsers(users);
      const logins = users.map((user) => user.username);
      for (const kind of ["new", "returning"] as const) {
        const samples = await sequential(logins.slice(0, sequentialCount));
        const perSecond = await throughput(logins.slice(sequentialCount), concurrency);
        results.push({ groups, sync, kind, samples, perSecond, concurrent: concurrentCount, concurrency });
        process.stderr.write(".");
      }
    }
  }
  process.stderr.write("\n");

  await server.close();
  await emulator.close();
  await dynamo.stop();
  return { results, baselineCPU, setupSeconds };
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`gitlab-jit benchmark: Node.js ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}`);
  await benchBundles();
  const { results, baselineCPU, setupSeconds } = await benchSignIns();
  const distinct = (values: number[]): string => {
    const low = Math.min(...values);
    const high = Math.max(...values);
    return low === high ? String(low) : `${low}–${high}`;
  };
  printTable(
    "Sign-in callback (DynamoDB Local, GitLab emulator); latency and CPU from N sequential sign-ins, throughput from M at concurrency C",
    ["GitLab groups", "sync", "user", "N", "median ms", "p99 ms", "M/C", "sign-ins/s", "DynamoDB req", "GitLab req", "CPU ms median"],
    results.map((result) => [
      String(result.groups),
      result.sync ? "on" : "off",
      result.kind,
      String(result.samples.length),
      ms(median(result.samples.map((sample) => sample.ms))),
      ms(percentile(result.samples.map((sample) => sample.ms), 0.99)),
      `${result.concurrent}/${result.concurrency}`,
      result.perSecond.toFixed(1),
      distinct(result.samples.map((sample) => sample.dynamoDB)),
      distinct(result.samples.map((sample) => sample.gitlab)),
      ms(Math.max(0, median(result.samples.map((sample) => sample.cpuMs)) - baselineCPU)),
    ]),
  );
  console.log(
    [
      "",
      `CPU: this process's user+system time during the callback request, minus ${ms(baselineCPU)} ms, the median cost of a local HTTP`,
      "round trip to a handler that refuses at once (GET /api/me without credentials). The GitLab emulator runs in a child process",
      "and DynamoDB Local in Java, so neither is counted. GitLab requests: token exchange, /user and /groups pages.",
      `Setup (admin sign-in, ${groupCounts.at(-1)} local groups through the API): ${setupSeconds.toFixed(1)} s.`,
      `Peak RSS of this process (service, benchmark client): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB.`,
      `Total time: ${((performance.now() - started) / 1000).toFixed(0)} s.`,
    ].join("\n"),
  );
}

if (process.argv.includes(emulatorProcessFlag)) await serveEmulator();
else await main();
