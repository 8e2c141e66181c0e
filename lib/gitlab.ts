// GitLab REST client: the signed-in user and their groups, with deadlines and strict parsing.
import { GitLabUnavailableError } from "./errors.js";
import { isEmail, isLogin } from "./names.js";
import { isRecord, readNumber, readOptionalString, readString } from "./parse.js";

export interface GitLabUser {
  id: number;
  username: string;
  name: string;
  email: string;
  state: string;
}

export interface GitLabClientOptions {
  gitlabURL: string;
  accessToken: string;
  timeoutMs: number;
  /** Whole budget for all calls of one sign-in, in ms since epoch. */
  deadline: number;
}


export async function fetchGitLabUser(options: GitLabClientOptions): Promise<GitLabUser> {
  const { body } = await getJSON(`${options.gitlabURL}/api/v4/user`, options);
  try {
    if (!isRecord(body)) throw new TypeError("not an object");
    const id = readNumber(body, "id");
    if (!Number.isSafeInteger(id) || id <= 0) throw new TypeError("bad id");
    const user = {
      id,
      username: readString(body, "username"),
      name: readOptionalString(body, "name") ?? "",
      email: readOptionalString(body, "email") ?? "",
      state: readString(body, "state"),
    };
    // GitLab's own rules; anything else would become a login or guard key we cannot store or address.
    if (!isLogin(user.username)) throw new TypeError("bad username");
    if (user.name.length > 255) throw new TypeError("name too long");
    if (user.email !== "" && !isEmail(user.email)) throw new TypeError("bad email");
    return user;
  } catch (error) {
    throw new GitLabUnavailableError("GitLab returned a user profile we cannot read.", { cause: error });
  }
}

// A bound against a misbehaving server that never stops paginating: 100,000 groups.
const maxGroupPages = 1000;

/**
 * Full paths of every group the user is a member of, all pages. Any failure fails the whole
 * read: a partial list must never be taken for the truth (it would remove memberships).
 */
export async function fetchGitLabGroupPaths(options: GitLabClientOptions): Promise<string[]> {
  const paths: string[] = [];
  let url: string | null = `${options.gitlabURL}/api/v4/groups?min_access_level=10&per_page=100`;
  for (let page = 1; url !== null; page++) {
    if (page > maxGroupPages) throw new GitLabUnavailableError("GitLab returned too many pages of groups.");
    const { body, headers } = await getJSON(url, options);
    if (!Array.isArray(body)) throw new GitLabUnavailableError("GitLab returned a group list we cannot read.");
    for (const group of body) {
      const fullPath = isRecord(group) ? group.full_path : undefined;
      if (typeof fullPath !== "string" || fullPath === "") {
        throw new GitLabUnavailableError("GitLab returned a group without a full path.");
      }
      paths.push(fullPath);
    }
    url = nextPageURL(url, headers, options.gitlabURL);
  }
  return paths;
}

/** The next page from `Link: rel="next"`, else `x-next-page`; only on GitLab's own origin. */
export function nextPageURL(current: string, headers: Headers, gitlabURL: string): string | null {
  const link = headers.get("link");
  if (link !== null) {
    for (const part of link.split(",")) {
      const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
      if (match?.[1] !== undefined) return sameOrigin(match[1], gitlabURL);
    }
  }
  const nextPage = headers.get("x-next-page");
  if (nextPage !== null && /^\d+$/.test(nextPage.trim())) {
    const next = new URL(current);
    next.searchParams.set("page", nextPage.trim());
    return next.toString();
  }
  return null;
}

function sameOrigin(candidate: string, gitlabURL: string): string {
  let url: URL;
  try {
    url = new URL(candidate, gitlabURL);
  } catch {
    throw new GitLabUnavailableError("GitLab returned a malformed pagination link.");
  }
  // The access token must never be sent to another host.
  if (url.origin !== new URL(gitlabURL).origin) throw new GitLabUnavailableError("GitLab's pagination link points to another host.");
  return url.toString();
}

interface JSONResponse {
  body: unknown;
  headers: Headers;
}

/** GET with a per-request deadline; one retry on 429/5xx/network errors when time allows. */
async function getJSON(url: string, options: GitLabClientOptions): Promise<JSONResponse> {
  for (let attempt = 0; ; attempt++) {
    const remaining = options.deadline - Date.now();
    if (remaining <= 0) throw new GitLabUnavailableError("GitLab did not answer in time.");
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { Authorization: `Bearer ${options.accessToken}`, Accept: "application/json" },
        signal: AbortSignal.timeout(Math.min(options.timeoutMs, remaining)),
        redirect: "error",
      });
    } catch (error) {
      if (attempt === 0 && (await waitBeforeRetry(500, options))) continue;
      throw new GitLabUnavailableError("GitLab could not be reached or did not answer in time.", { cause: error });
    }
    if (response.status === 200) {
      try {
        return { body: await response.json(), headers: response.headers };
      } catch (error) {
        throw new GitLabUnavailableError("GitLab returned a response that is not JSON.", { cause: error });
      }
    }
    await response.body?.cancel();
    const retryable = response.status === 429 || response.status >= 500;
    if (retryable && attempt === 0 && (await waitBeforeRetry(retryAfterMs(response.headers), options))) continue;
    throw new GitLabUnavailableError(`GitLab answered ${response.status}${response.status === 429 ? " (rate limited)" : ""}.`);
  }
}

function retryAfterMs(headers: Headers): number {
  const value = headers.get("retry-after");
  if (value === null) return 500;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? 500 : Math.max(0, date - Date.now());
}

/** Waits when the wait fits the budget (and is short); false means give up now. */
async function waitBeforeRetry(delayMs: number, options: GitLabClientOptions): Promise<boolean> {
  if (delayMs > 2000 || Date.now() + delayMs + 1000 > options.deadline) return false;
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  return true;
}
