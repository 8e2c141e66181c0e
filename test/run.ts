// Runs the test suite: one DynamoDB Local for all test files (each file uses its own table),
// then node's test runner over the files given, or every test/**/*.test.ts and the unit tests
// beside the code, lib/**/*.test.ts.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { JavaMissingError, startDynamoDBLocal } from "../infra/dynamodb-local.js";

function findTests(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === "support" ? [] : findTests(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

async function main(): Promise<number> {
  const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [...findTests("test"), ...findTests("lib")].sort();
  let dynamo;
  try {
    dynamo = process.env.AWS_ENDPOINT_URL_DYNAMODB ? null : await startDynamoDBLocal();
  } catch (error) {
    if (error instanceof JavaMissingError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB ?? dynamo?.endpoint,
    AWS_REGION: process.env.AWS_REGION ?? "local",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? "local",
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? "local",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
  };
  const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...files], { stdio: "inherit", env });
  const code = await new Promise<number>((resolve) => child.on("exit", (exitCode) => resolve(exitCode ?? 1)));
  await dynamo?.stop();
  return code;
}

process.exitCode = await main();
