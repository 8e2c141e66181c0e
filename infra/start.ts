// `npm start`: the whole service on this machine. DynamoDB Local in memory (unless
// AWS_ENDPOINT_URL_DYNAMODB is set), the table, a GitLab emulator with demo users (unless
// GITLAB_URL is set), and the HTTP API through serverless-offline on PORT.
import { spawn } from "node:child_process";
import { createTable } from "./create-table.js";
import { demoApplication, demoGroups, demoUsers } from "./demo-gitlab.js";
import { JavaMissingError, getFreePort, startDynamoDBLocal } from "./dynamodb-local.js";
import type { DynamoDBLocal } from "./dynamodb-local.js";
import { startGitLabEmulator } from "./gitlab-emulator.js";
import type { GitLabEmulator } from "./gitlab-emulator.js";

async function main(): Promise<void> {
  const port = process.env.PORT ?? "3000";
  const publicURL = (process.env.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, "");
  const tableName = process.env.TABLE_NAME ?? "gitlab-jit-local";

  let dynamo: DynamoDBLocal | null = null;
  if (!process.env.AWS_ENDPOINT_URL_DYNAMODB) {
    try {
      dynamo = await startDynamoDBLocal();
    } catch (error) {
      if (error instanceof JavaMissingError) {
        console.error(`\n${error.message}\n`);
        process.exit(1);
      }
      throw error;
    }
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: port,
    PUBLIC_URL: publicURL,
    TABLE_NAME: tableName,
    AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB ?? dynamo?.endpoint,
    AWS_REGION: process.env.AWS_REGION ?? "local",
    // The SDK's notice that its 2027 releases need Node.js 22 is for deployers, not a local run.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? "true",
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? "local",
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? "local",
  };
  Object.assign(process.env, env);
  await createTable(tableName);

  let gitlab: GitLabEmulator | null = null;
  if (!process.env.GITLAB_URL) {
    const application = demoApplication(publicURL);
    gitlab = await startGitLabEmulator({ port: Number(process.env.GITLAB_EMULATOR_PORT ?? 0), application, users: demoUsers, groups: demoGroups });
    Object.assign(env, {
      GITLAB_URL: gitlab.url,
      GITLAB_APPLICATION_ID: application.applicationId,
      GITLAB_SECRET: application.secret,
      INITIAL_ADMINS: process.env.INITIAL_ADMINS ?? demoUsers[0]!.username,
    });
  }

  const lambdaPort = String(await getFreePort());
  const offline = spawn(process.execPath, ["node_modules/osls/bin/serverless.js", "offline", "start", "--stage", "local"], {
    env: { ...env, OFFLINE_LAMBDA_PORT: lambdaPort },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let announced = false;
  function watch(chunk: Buffer): void {
    const text = chunk.toString();
    // Request logs and errors stay visible; the banner replaces serverless-offline's own.
    if (announced || process.env.VERBOSE) process.stdout.write(text);
    if (!announced && /Server ready/i.test(text)) {
      announced = true;
      printBanner(publicURL, gitlab, tableName, env.AWS_ENDPOINT_URL_DYNAMODB ?? "");
    }
  }
  offline.stdout.on("data", watch);
  offline.stderr.on("data", watch);

  async function shutdown(code: number): Promise<void> {
    offline.kill("SIGTERM");
    await gitlab?.close();
    await dynamo?.stop();
    process.exit(code);
  }
  offline.on("exit", (code) => void shutdown(code ?? 1));
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
}

function printBanner(publicURL: string, gitlab: GitLabEmulator | null, tableName: string, dynamoEndpoint: string): void {
  const lines = [
    "",
    `gitlab-jit is running: open ${publicURL}/`,
    "",
    `  DynamoDB:  ${dynamoEndpoint} (table ${tableName})`,
    gitlab === null ? `  GitLab:    ${process.env.GITLAB_URL}` : `  GitLab:    development emulator at ${gitlab.url}`,
  ];
  if (gitlab !== null) {
    lines.push("", "  Demo GitLab users (pick one on the emulator's sign-in page):");
    for (const user of demoUsers) {
      const notes = [user.username === demoUsers[0]!.username ? "initial admin" : "", user.state && user.state !== "active" ? `GitLab state: ${user.state}` : ""].filter(Boolean).join(", ");
      lines.push(`    ${user.username.padEnd(10)} groups: ${(user.groups ?? []).join(", ") || "none"}${notes ? `  (${notes})` : ""}`);
    }
  }
  lines.push("", "Press Ctrl+C to stop.", "");
  console.log(lines.join("\n"));
}

await main();
