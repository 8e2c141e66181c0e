// The GitLab authentication settings: one item, versioned for ETag / If-Match.
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { auditPut } from "./audit.js";
import type { Actor } from "./audit.js";
import { config } from "./config.js";
import { db, tableName, transactWrite } from "./db.js";
import type { Item } from "./db.js";
import { PreconditionFailedError, ValidationError, transactionCancellationCodes } from "./errors.js";
import { booleanRule, parseBody, stringListRule, stringRule } from "./input.js";
import { isGroupPath } from "./names.js";
import { readBoolean, readNumber, readString, readStringArray } from "./parse.js";

export interface GitLabSettings {
  enabled: boolean;
  url: string;
  applicationId: string;
  secret: string;
  synchronizeGroups: boolean;
  allowUsersToSignUp: boolean;
  allowedGroups: string[];
  version: number;
}

/** What the API shows: never the secret. */
export interface PublicGitLabSettings {
  enabled: boolean;
  url: string;
  applicationId: string;
  secretConfigured: boolean;
  synchronizeGroups: boolean;
  allowUsersToSignUp: boolean;
  allowedGroups: string[];
}

export const settingsKey = { pk: "SETTINGS", sk: "GITLAB" } as const;

export function defaultGitLabSettings(): GitLabSettings {
  const { url, applicationId, secret } = config.gitlab;
  return {
    enabled: applicationId !== "" && secret !== "",
    url,
    applicationId,
    secret,
    synchronizeGroups: false,
    allowUsersToSignUp: true,
    allowedGroups: [],
    version: 0,
  };
}

/** Parses the stored item; the environment's defaults when nothing has been saved yet. */
export function settingsFromItem(item: Item | undefined): GitLabSettings {
  if (item === undefined) return defaultGitLabSettings();
  return {
    enabled: readBoolean(item, "enabled"),
    url: readString(item, "url"),
    applicationId: readString(item, "applicationId"),
    secret: readString(item, "secret"),
    synchronizeGroups: readBoolean(item, "synchronizeGroups"),
    allowUsersToSignUp: readBoolean(item, "allowUsersToSignUp"),
    allowedGroups: readStringArray(item, "allowedGroups"),
    version: readNumber(item, "version"),
  };
}

export async function getGitLabSettings(): Promise<GitLabSettings> {
  const result = await db.send(new GetCommand({ TableName: tableName, Key: settingsKey, ConsistentRead: true }));
  return settingsFromItem(result.Item);
}

/** GitLab sign-in works only when enabled and both application id and secret are set. */
export function isGitLabSignInEnabled(settings: GitLabSettings): boolean {
  return settings.enabled && settings.applicationId !== "" && settings.secret !== "";
}

/** Groups are read from GitLab when synchronization or an allow-list needs them. */
export function needsGroups(settings: GitLabSettings): boolean {
  return settings.synchronizeGroups || settings.allowedGroups.length > 0;
}

export function toPublicSettings(settings: GitLabSettings): PublicGitLabSettings {
  return {
    enabled: settings.enabled,
    url: settings.url,
    applicationId: settings.applicationId,
    secretConfigured: settings.secret !== "",
    synchronizeGroups: settings.synchronizeGroups,
    allowUsersToSignUp: settings.allowUsersToSignUp,
    allowedGroups: settings.allowedGroups,
  };
}

export function settingsETag(settings: GitLabSettings): string {
  return `"${settings.version}"`;
}

const settingsRules = {
  enabled: booleanRule(),
  url: stringRule({ min: 1, max: 2048, test: isGitLabURL, hint: "must be an http(s) URL without credentials, query or fragment" }),
  applicationId: stringRule({ max: 255, test: (value) => !/\s/.test(value), hint: "must not contain spaces" }),
  secret: stringRule({ max: 1024, test: (value) => !/\s/.test(value), hint: "must not contain spaces" }),
  synchronizeGroups: booleanRule(),
  allowUsersToSignUp: booleanRule(),
  allowedGroups: stringListRule({ max: 100, test: isGroupPath, hint: "each entry must be a GitLab group full path such as my-group/sub-group" }),
};

export type SettingsChange = ReturnType<typeof parseSettingsChange>;

export function parseSettingsChange(body: unknown): ReturnType<typeof parseBody<typeof settingsRules>> {
  const change = parseBody(body, settingsRules);
  if (change.url !== undefined) change.url = change.url.replace(/\/+$/, "");
  return change;
}

function isGitLabURL(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === "https:" || url.protocol === "http:") && url.username === "" && url.password === "" && url.search === "" && url.hash === "";
}

/**
 * The entity tags an If-Match header lists (`*` included), or null when absent. A weak tag
 * (`W/"3"`) counts as its strong form: the settings have no other representation.
 */
export function parseIfMatch(header: string | undefined): string[] | null {
  if (header === undefined) return null;
  return header
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .filter((tag) => tag !== "");
}

function ifMatchAllows(tags: string[] | null, current: GitLabSettings): boolean {
  return tags === null || tags.includes("*") || tags.includes(settingsETag(current));
}

export interface SettingsUpdate {
  settings: GitLabSettings;
  changedFields: string[];
}

/**
 * Applies a change with optimistic concurrency. With If-Match, a stale ETag is a 412;
 * without it, a concurrent save is retried on the fresh value.
 */
export async function updateGitLabSettings(body: unknown, ifMatch: string[] | null, actor: Actor): Promise<SettingsUpdate> {
  const change = parseSettingsChange(body);
  for (let attempt = 0; ; attempt++) {
    const current = await getGitLabSettings();
    if (!ifMatchAllows(ifMatch, current)) {
      throw new PreconditionFailedError("The settings changed since you read them. Reload and try again.");
    }
    const next: GitLabSettings = { ...current, ...change, version: current.version + 1 };
    if (next.enabled && (next.applicationId === "" || next.secret === "")) {
      throw new ValidationError("GitLab authentication cannot be enabled without an application id and a secret.", [
        { field: "enabled", message: "requires applicationId and secret to be set" },
      ]);
    }
    const changedFields = Object.keys(change).filter(
      (field) => JSON.stringify(change[field as keyof typeof change]) !== JSON.stringify(current[field as keyof GitLabSettings]),
    );
    try {
      await transactWrite([
        {
          Put: {
            TableName: tableName,
            Item: { ...settingsKey, ...next },
            ConditionExpression: current.version === 0 ? "attribute_not_exists(pk)" : "version = :version",
            ExpressionAttributeValues: current.version === 0 ? undefined : { ":version": current.version },
          },
        },
        // Field names only: the secret's value never reaches the audit log.
        auditPut("settings.changed", actor, null, { fields: changedFields }),
      ]);
      return { settings: next, changedFields };
    } catch (error) {
      if (transactionCancellationCodes(error)?.[0] !== "ConditionalCheckFailed") throw error;
      // Without a precondition a concurrent save is retried on the fresh value; with one, it is a 412.
      if ((ifMatch !== null && !ifMatch.includes("*")) || attempt >= 3) {
        throw new PreconditionFailedError("The settings changed since you read them. Reload and try again.");
      }
    }
  }
}
