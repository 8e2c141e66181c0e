// The whole service for one test file: its own table in the shared DynamoDB Local, a GitLab
// emulator, and the three Lambda handlers served over real HTTP.
import { randomBytes } from "node:crypto";
import { createTable } from "../../infra/create-table.js";
import { getFreePort } from "../../infra/dynamodb-local.js";
import { startGitLabEmulator } from "../../infra/gitlab-emulator.js";
import type { EmulatorUser, GitLabEmulator } from "../../infra/gitlab-emulator.js";
import { startLocalServer } from "../../infra/local-server.js";
import { Browser } from "./browser.js";

export const applicationId = "test-app";
export const applicationSecret = "test-secret-value-0123456789";

export interface Stack {
  url: string;
  gitlab: GitLabEmulator;
  tableName: string;
  browser(): Browser;
  close(): Promise<void>;
}

export interface StackOptions {
  users?: EmulatorUser[];
  groups?: string[];
  env?: Record<string, string>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  if (!process.env.AWS_ENDPOINT_URL_DYNAMODB) throw new Error("Run the tests with `npm test`: it starts DynamoDB Local.");
  const port = await getFreePort();
  const url = `http://127.0.0.1:${port}`;
  const gitlab = await startGitLabEmulator({
    application: { applicationId, secret: applicationSecret, redirectURIs: [`${url}/auth/gitlab/callback`] },
    users: options.users ?? [],
    groups: options.groups ?? [],
  });
  const tableName = `test-${randomBytes(6).toString("hex")}`;
  Object.assign(process.env, {
    PUBLIC_URL: url,
    PORT: String(port),
    TABLE_NAME: tableName,
    GITLAB_URL: gitlab.url,
    GITLAB_APPLICATION_ID: applicationId,
    GITLAB_SECRET: applicationSecret,
    INITIAL_ADMINS: "",
    ...options.env,
  });
  await createTable(tableName);
  const server = await startLocalServer(port);
  return {
    url,
    gitlab,
    tableName,
    browser: () => new Browser(url),
    close: async () => {
      await server.close();
      await gitlab.close();
    },
  };
}
