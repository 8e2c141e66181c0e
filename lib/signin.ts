// The GitLab sign-in: start (state + PKCE) and callback (exchange, rules, provisioning, sync).
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { timingSafeEqual } from "node:crypto";
import { auditPut, recordAuditEvent } from "./audit.js";
import type { Actor } from "./audit.js";
import { config } from "./config.js";
import { generateSecretToken, sha256 } from "./crypto.js";
import { batchGet, db, epochSeconds, transactWrite } from "./db.js";
import type { TransactItem } from "./db.js";
import {
  AppError,
  BusyError,
  InvalidSignInRequestError,
  SignInRefusedError,
  transactionCancellationCodes,
} from "./errors.js";
import type { SignInRefusal } from "./errors.js";
import { fetchGitLabGroupPaths, fetchGitLabUser } from "./gitlab.js";
import type { GitLabUser } from "./gitlab.js";
import { catalogKey, catalogVersionFromItem, getGroupCatalog, matchGroupsToGitLabPaths, readCatalogVersion } from "./groups.js";
import type { GroupCatalog } from "./groups.js";
import { addMembershipItems, diffMemberships, removeMembershipItem } from "./memberships.js";
import { isSameOrSubgroup } from "./names.js";
import { createAuthorizationURL, exchangeCode } from "./oauth.js";
import type { OAuthApplication } from "./oauth.js";
import { readNumber, readOptionalString, readString } from "./parse.js";
import { safeReturnTo } from "./return-to.js";
import { newSessionItem } from "./sessions.js";
import { isGitLabSignInEnabled, needsGroups, settingsFromItem, settingsKey, getGitLabSettings } from "./settings.js";
import type { GitLabSettings } from "./settings.js";
import { changeUserItems, createUserItems, getUserIdByGitLabId, getUserIdByLogin, getUserWithMemberships, newUser } from "./users.js";
import type { GuardKind, ProfileChange, User } from "./users.js";

const stateLifetimeSeconds = 600;
// Lambda's timeout is 29 s at most behind API Gateway; all GitLab calls share this budget.
const gitlabBudgetMs = 20_000;

function stateKey(state: string): { pk: string; sk: string } {
  const hash = sha256(state);
  return { pk: `OAUTHSTATE#${hash}`, sk: `OAUTHSTATE#${hash}` };
}

function oauthApplication(settings: GitLabSettings): OAuthApplication {
  return {
    gitlabURL: settings.url,
    applicationId: settings.applicationId,
    secret: settings.secret,
    redirectURI: `${config.publicURL.origin}/auth/gitlab/callback`,
  };
}

function disabledError(): SignInRefusedError {
  return new SignInRefusedError("disabled", "GitLab authentication is disabled. Ask an administrator to enable it.");
}

export interface SignInStart {
  authorizationURL: string;
  /** The value of the short-lived state cookie that binds the flow to this browser. */
  state: string;
}

export async function startSignIn(returnTo: string | null, now: Date = new Date()): Promise<SignInStart> {
  const settings = await getGitLabSettings();
  if (!isGitLabSignInEnabled(settings)) throw disabledError();
  const state = generateSecretToken(32);
  const codeVerifier = generateSecretToken(32);
  const scope = needsGroups(settings) ? "read_api" : "read_user";
  await db.send(
    new PutCommand({
      TableName: config.tableName,
      Item: {
        ...stateKey(state),
        codeVerifier,
        returnTo: safeReturnTo(returnTo),
        scope,
        expiresAt: epochSeconds(now) + stateLifetimeSeconds,
      },
    }),
  );
  const url = createAuthorizationURL(oauthApplication(settings), state, codeVerifier, [scope]);
  return { authorizationURL: url.toString(), state };
}

export interface CallbackInput {
  code: string | null;
  state: string | null;
  error: string | null;
  cookieState: string | null;
}

export interface SignInResult {
  sessionToken: string;
  returnTo: string;
  user: User;
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Deletes the state item and returns what it held: a second use finds nothing. */
async function consumeState(state: string, now: Date): Promise<{ codeVerifier: string; returnTo: string; scope: string }> {
  const result = await db.send(
    new DeleteCommand({ TableName: config.tableName, Key: stateKey(state), ReturnValues: "ALL_OLD" }),
  );
  const item = result.Attributes;
  if (item === undefined || readNumber(item, "expiresAt") <= epochSeconds(now)) {
    throw new InvalidSignInRequestError("This sign-in link has expired or was already used. Please sign in again.");
  }
  return {
    codeVerifier: readString(item, "codeVerifier"),
    returnTo: safeReturnTo(readString(item, "returnTo")),
    scope: readOptionalString(item, "scope") ?? "read_user",
  };
}

export async function completeSignIn(input: CallbackInput, now: Date = new Date()): Promise<SignInResult> {
  if (input.cookieState === null || input.cookieState === "") {
    throw new InvalidSignInRequestError("Your sign-in could not be verified because its cookie is missing. Make sure cookies are enabled and sign in again.");
  }
  if (input.state === null || !sameSecret(input.state, input.cookieState)) {
    throw new InvalidSignInRequestError("This sign-in response does not belong to this browser. Please sign in again.");
  }
  const [stored, [settingsItem, catalogItem]] = await Promise.all([
    consumeState(input.state, now),
    batchGet([settingsKey, catalogKey], true).then((items) => [
      items.find((item) => item.pk === settingsKey.pk),
      items.find((item) => item.pk === catalogKey.pk),
    ]),
  ]);
  if (input.error !== null) {
    throw new SignInRefusedError("access_denied", "GitLab did not grant access, so you were not signed in. You can try again.");
  }
  if (input.code === null || input.code === "" || input.code.length > 1024) {
    throw new InvalidSignInRequestError("GitLab did not send a sign-in code. Please sign in again.");
  }
  const settings = settingsFromItem(settingsItem);
  if (!isGitLabSignInEnabled(settings)) throw disabledError();
  if (needsGroups(settings) && stored.scope !== "read_api") {
    // Synchronization or allowed groups were turned on after this sign-in started: the token
    // about to be issued could not read groups.
    throw new InvalidSignInRequestError("The sign-in settings changed while you were signing in. Please sign in again.");
  }

  const deadline = Date.now() + gitlabBudgetMs;
  const app = oauthApplication(settings);
  const accessToken = await exchangeCode(app, input.code, stored.codeVerifier, config.gitlabTimeoutMs);
  const client = { gitlabURL: settings.url, accessToken, timeoutMs: config.gitlabTimeoutMs, deadline };
  const [gitlabUser, gitlabGroups] = await Promise.all([
    fetchGitLabUser(client),
    needsGroups(settings) ? fetchGitLabGroupPaths(client) : Promise.resolve(null),
  ]);

  const context: SignInContext = { settings, gitlabUser, gitlabGroups, catalogVersion: catalogVersionFromItem(catalogItem), now };
  try {
    checkGitLabAccount(context);
    const { user, sessionToken } = await provision(context);
    return { sessionToken, returnTo: stored.returnTo, user };
  } catch (error) {
    if (error instanceof SignInRefusedError) await recordRefusal(error.reason, gitlabUser);
    throw error;
  }
}

interface SignInContext {
  settings: GitLabSettings;
  gitlabUser: GitLabUser;
  /** Full paths from GitLab, or null when groups were not needed. */
  gitlabGroups: string[] | null;
  catalogVersion: number;
  now: Date;
}

function checkGitLabAccount({ settings, gitlabUser, gitlabGroups }: SignInContext): void {
  if (gitlabUser.state !== "active") {
    throw new SignInRefusedError("gitlab_state", "Your GitLab account is not active, so you cannot sign in.");
  }
  if (settings.allowedGroups.length > 0) {
    const allowed = (gitlabGroups ?? []).some((path) => settings.allowedGroups.some((entry) => isSameOrSubgroup(path, entry)));
    if (!allowed) {
      throw new SignInRefusedError("not_in_allowed_group", "You are not a member of an allowed group, so you cannot sign in here. Ask an administrator for access.");
    }
  }
}

async function recordRefusal(reason: SignInRefusal, gitlabUser: GitLabUser): Promise<void> {
  try {
    await recordAuditEvent("signin.refused", { kind: "gitlab", login: null }, gitlabUser.username, { reason, gitlabId: gitlabUser.id });
  } catch {
    // The refusal stands even when it cannot be recorded.
  }
}

const gitlabActor: Actor = { kind: "gitlab", login: null };
const maxAttempts = 5;

/** Retries when a concurrent sign-in or edit changed what the plan was based on. */
async function provision(initial: SignInContext): Promise<{ user: User; sessionToken: string }> {
  let context = initial;
  for (let attempt = 1; ; attempt++) {
    try {
      return await provisionOnce(context);
    } catch (error) {
      if (!(error instanceof RetrySignIn) || attempt >= maxAttempts) {
        if (error instanceof RetrySignIn) throw new BusyError("The sign-in could not be completed because of concurrent changes. Please try again.");
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt * Math.random()));
      // A group deleted or created meanwhile changed the catalog the plan was made from.
      context = { ...context, catalogVersion: await readCatalogVersion() };
    }
  }
}

class RetrySignIn extends AppError {
  override name = "RetrySignIn";
}

async function provisionOnce(context: SignInContext): Promise<{ user: User; sessionToken: string }> {
  const { gitlabUser } = context;
  const userId = await getUserIdByGitLabId(gitlabUser.id);
  if (userId !== null) return signInReturningUser(context, userId);
  const loginOwner = await getUserIdByLogin(gitlabUser.username);
  if (loginOwner !== null) return linkExistingUser(context, loginOwner);
  return signUpNewUser(context);
}

async function signInReturningUser(context: SignInContext, userId: string): Promise<{ user: User; sessionToken: string }> {
  const found = await getUserWithMemberships(userId);
  if (found === null) throw new RetrySignIn("user disappeared");
  const { user, memberships } = found;
  if (!user.active) throw new SignInRefusedError("deactivated", "Your account has been deactivated. Ask an administrator to reactivate it.");
  const change = profileChangeFromGitLab(user, context);
  const plan = await planMembershipSync(context, user.id, memberships);
  const renamed = change.login !== undefined && change.login !== user.login;
  const { items, kinds } = changeUserItems(user, change);
  const audit: TransactItem[] = [];
  if (renamed) audit.push(auditPut("user.renamed", gitlabActor, change.login ?? user.login, { from: user.login, to: change.login }, context.now));
  else if (change.name !== undefined || change.email !== undefined) {
    audit.push(auditPut("user.updated", gitlabActor, user.login, { fields: Object.keys(change).filter((field) => field !== "lastSignInAt") }, context.now));
  }
  const updated: User = { ...user, ...change };
  return commitSignIn(context, updated, { items: [...items, ...audit], kinds: [...kinds, ...audit.map(() => "user" as const)] }, plan);
}

async function linkExistingUser(context: SignInContext, userId: string): Promise<{ user: User; sessionToken: string }> {
  const found = await getUserWithMemberships(userId);
  if (found === null) throw new RetrySignIn("user disappeared");
  const { user, memberships } = found;
  // A concurrent first sign-in of the same person created or linked this user meanwhile.
  if (user.gitlabId === context.gitlabUser.id) return signInReturningUser(context, userId);
  if (user.gitlabId !== null) {
    // The login belongs to another GitLab account: never take over by username.
    throw new SignInRefusedError("login_taken", `The login ${context.gitlabUser.username} is already used by another account. Ask an administrator for help.`);
  }
  if (!user.active) throw new SignInRefusedError("deactivated", "Your account has been deactivated. Ask an administrator to reactivate it.");
  const change: ProfileChange = { ...profileChangeFromGitLab(user, context), gitlabId: context.gitlabUser.id };
  const plan = await planMembershipSync(context, user.id, memberships);
  const { items, kinds } = changeUserItems(user, change);
  const audit = auditPut("user.linked", gitlabActor, context.gitlabUser.username, { gitlabId: context.gitlabUser.id }, context.now);
  return commitSignIn(context, { ...user, ...change }, { items: [...items, audit], kinds: [...kinds, "user"] }, plan);
}

async function signUpNewUser(context: SignInContext): Promise<{ user: User; sessionToken: string }> {
  const { gitlabUser, settings, now } = context;
  const initialAdmin = config.initialAdmins.has(gitlabUser.username.toLowerCase());
  if (!settings.allowUsersToSignUp && !initialAdmin) {
    throw new SignInRefusedError("signup_blocked", "New users are not allowed to sign up. Ask an administrator to create your account.");
  }
  const user: User = {
    ...newUser(
      {
        login: gitlabUser.username,
        name: gitlabUser.name,
        email: gitlabUser.email,
        gitlabId: gitlabUser.id,
        source: "gitlab",
        permissions: initialAdmin ? ["admin"] : [],
      },
      now,
    ),
    lastSignInAt: now.toISOString(),
  };
  const plan = await planMembershipSync(context, user.id, []);
  const { items, kinds } = createUserItems(user);
  const audit = auditPut("user.created", gitlabActor, user.login, { source: "gitlab", gitlabId: gitlabUser.id, permissions: user.permissions }, now);
  return commitSignIn(context, user, { items: [...items, audit], kinds: [...kinds, "user"] }, plan);
}

function profileChangeFromGitLab(user: User, { gitlabUser, now }: SignInContext): ProfileChange {
  return {
    ...(gitlabUser.username !== user.login && { login: gitlabUser.username }),
    ...(gitlabUser.name !== user.name && { name: gitlabUser.name }),
    ...(gitlabUser.email !== user.email && { email: gitlabUser.email }),
    lastSignInAt: now.toISOString(),
  };
}

interface SyncPlan {
  /** Groups of transaction items, one group per membership change (an add is two items). */
  changes: TransactItem[][];
}

async function planMembershipSync(context: SignInContext, userId: string, current: { groupId: string; source: "manual" | "gitlab" }[]): Promise<SyncPlan> {
  if (!context.settings.synchronizeGroups || context.gitlabGroups === null) return { changes: [] };
  const catalog: GroupCatalog = await getGroupCatalog(context.catalogVersion);
  const target = matchGroupsToGitLabPaths(catalog, context.gitlabGroups);
  const { add, remove } = diffMemberships(current, target);
  const name = (groupId: string): string => catalog.byId.get(groupId)?.name ?? groupId;
  // Each change carries its own audit event, so a chunked sync records exactly what it wrote.
  // After sign-in the login is always the GitLab username.
  const login = context.gitlabUser.username;
  const sourceOf = new Map(current.map((membership) => [membership.groupId, membership.source]));
  return {
    changes: [
      ...add.map((groupId) => [
        ...addMembershipItems(userId, groupId, "gitlab", context.now),
        auditPut("membership.added", gitlabActor, login, { group: name(groupId), source: "gitlab" }, context.now),
      ]),
      ...remove.map((groupId) => [
        removeMembershipItem(userId, groupId),
        auditPut("membership.removed", gitlabActor, login, { group: name(groupId), source: sourceOf.get(groupId) ?? "gitlab" }, context.now),
      ]),
    ],
  };
}

const maxTransactionItems = 100;

/**
 * Writes profile, memberships, audit and session. When everything fits one transaction it is
 * atomic; a user in very many groups gets membership chunks first and the session last, so a
 * failure leaves no session and the next sign-in converges (synchronization is idempotent).
 */
async function commitSignIn(
  context: SignInContext,
  user: User,
  core: { items: TransactItem[]; kinds: GuardKind[] },
  plan: SyncPlan,
): Promise<{ user: User; sessionToken: string }> {
  const session = newSessionItem(user.id, context.now);
  const tail: TransactItem[] = [session.item];
  const batches: TransactItem[][] = [[...core.items]];
  for (const change of plan.changes) {
    const last = batches[batches.length - 1]!;
    if (last.length + change.length > maxTransactionItems - (batches.length === 1 ? tail.length : 0)) batches.push([]);
    batches[batches.length - 1]!.push(...change);
  }
  const lastBatch = batches[batches.length - 1]!;
  if (lastBatch.length + tail.length > maxTransactionItems) batches.push([]);
  batches[batches.length - 1]!.push(...tail);

  for (const [index, batch] of batches.entries()) {
    try {
      await transactWrite(batch);
    } catch (error) {
      const codes = transactionCancellationCodes(error);
      if (codes === null) throw error;
      if (index === 0) throw refusalFromCancellation(codes, core.kinds, context);
      // A group deleted meanwhile or a racing write: re-plan from fresh data.
      throw new RetrySignIn("membership chunk cancelled");
    }
  }
  return { user, sessionToken: session.token };
}

function refusalFromCancellation(codes: string[], kinds: GuardKind[], context: SignInContext): Error {
  const failed = new Set(kinds.filter((_, index) => codes[index] === "ConditionalCheckFailed"));
  if (failed.has("gitlabId")) return new RetrySignIn("another sign-in created this user");
  if (failed.has("login")) {
    return new SignInRefusedError("login_taken", `The login ${context.gitlabUser.username} is already used by another account. Ask an administrator for help.`);
  }
  if (failed.has("email")) {
    return new SignInRefusedError("email_taken", "Your GitLab email address is already used by another account here. Ask an administrator for help.");
  }
  // A concurrent change of the profile, a group deleted meanwhile, or a transaction conflict.
  return new RetrySignIn("transaction cancelled");
}
