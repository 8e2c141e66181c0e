// Service configuration, read once per container from the environment.
// These are initial values: settings saved through the API win over the GitLab ones.
import { logWarn } from "./log.js";
import { readOptionalSecureParameter } from "./secrets.js";

export interface Config {
  publicURL: URL;
  tableName: string;
  initialAdmins: ReadonlySet<string>;
  gitlab: { url: string; applicationId: string; secret: string };
  sessionIdleSeconds: number;
  sessionAbsoluteSeconds: number;
  auditRetentionDays: number;
  gitlabTimeoutMs: number;
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const port = env.PORT ?? "3000";
  const publicURL = parsePublicURL(env.PUBLIC_URL ?? `http://localhost:${port}`);
  return {
    publicURL,
    tableName: env.TABLE_NAME ?? "gitlab-jit",
    initialAdmins: new Set(splitList(env.INITIAL_ADMINS).map((login) => login.toLowerCase())),
    gitlab: {
      url: (env.GITLAB_URL ?? "https://gitlab.com").replace(/\/+$/, ""),
      applicationId: env.GITLAB_APPLICATION_ID ?? "",
      secret: env.GITLAB_SECRET ?? "",
    },
    sessionIdleSeconds: positiveInteger(env, "SESSION_IDLE_TIMEOUT_SECONDS", 7 * 24 * 3600),
    sessionAbsoluteSeconds: positiveInteger(env, "SESSION_MAX_LIFETIME_SECONDS", 30 * 24 * 3600),
    auditRetentionDays: positiveInteger(env, "AUDIT_RETENTION_DAYS", 90),
    gitlabTimeoutMs: positiveInteger(env, "GITLAB_TIMEOUT_MS", 5000),
  };
}

function parsePublicURL(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`PUBLIC_URL is not a valid URL: ${value}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error("PUBLIC_URL must be an http(s) URL");
  }
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") {
    throw new Error("PUBLIC_URL must be an origin without path, query or fragment");
  }
  return url;
}

function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

/**
 * Deployed functions name an SSM SecureString (GITLAB_SECRET_PARAMETER) instead of carrying the
 * GitLab secret: it is read once, at cold start. GITLAB_SECRET, when set, wins (local runs).
 * A parameter not created yet leaves sign-in disabled, as no secret does; any other failure
 * stops the function from starting.
 */
export async function resolveConfig(env: NodeJS.ProcessEnv): Promise<Config> {
  const loaded = loadConfig(env);
  const parameter = env.GITLAB_SECRET_PARAMETER ?? "";
  if (parameter === "" || loaded.gitlab.secret !== "") return loaded;
  const secret = await readOptionalSecureParameter(parameter, env);
  if (secret === null) {
    logWarn("the GitLab secret's SSM parameter does not exist: GitLab sign-in stays disabled", { parameter });
    return loaded;
  }
  return { ...loaded, gitlab: { ...loaded.gitlab, secret } };
}

export const config: Config = await resolveConfig(process.env);

export function publicOrigin(): string {
  return config.publicURL.origin;
}

export function isSecureDeployment(): boolean {
  return config.publicURL.protocol === "https:";
}
