// Group synchronization and allowed groups, over real HTTP against DynamoDB Local and the
// GitLab emulator: inheritance, case, pagination, resets, failures, and what a sign-in costs.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import type { Browser } from "./support/browser.js";
import { createGroup, durableState, patchSettings, signedInAdmin } from "./support/hardening.js";
import { startStack } from "./support/stack.js";
import type { Stack } from "./support/stack.js";

let stack: Stack;
let admin: Browser;
let dynamoDBRequestCount: () => number;
let nextId = 1000;
// 300 local groups shared by the tests that need many: creating groups is the slow part.
const big = range("big/g", 300);

/** A new GitLab user, direct member of `groups`; returns its username. */
function gitlabUser(username: string, groups: string[] = []): string {
  stack.gitlab.upsertUser({ id: nextId++, username, name: `${username} name`, email: `${username}@example.com`, groups });
  return username;
}

function range(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}${String(index).padStart(3, "0")}`);
}

/** Creates groups through the API, a few at a time; returns name → id. */
async function createGroups(names: string[], permissions: string[] = []): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const queue = [...names];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) ids.set(name, await createGroup(admin, name, permissions));
    }),
  );
  return ids;
}

async function signIn(login: string): Promise<{ browser: Browser; status: number; body: string }> {
  const browser = stack.browser();
  const outcome = await browser.signIn(login);
  return { browser, status: outcome.response.status, body: outcome.body };
}

async function signedIn(login: string): Promise<Browser> {
  const { browser, status, body } = await signIn(login);
  assert.equal(status, 302, `sign-in of ${login}: ${body}`);
  return browser;
}

/** The local groups of a user, as the API shows them. */
async function groupsOf(login: string): Promise<string[]> {
  const response = await admin.json(`/api/users/${encodeURIComponent(login)}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.groups;
}

async function scopeRequested(): Promise<string | null> {
  return (await stack.browser().startSignIn()).searchParams.get("scope");
}

async function withSettings(change: Record<string, unknown>, restore: Record<string, unknown>, run: () => Promise<void>): Promise<void> {
  await patchSettings(admin, change);
  try {
    await run();
  } finally {
    await patchSettings(admin, restore);
  }
}

before(async () => {
  stack = await startStack({
    users: [{ id: 1, username: "root", name: "Root", email: "root@example.com" }],
    env: { INITIAL_ADMINS: "root" },
  });
  // The local server runs in this process: its DynamoDB client is this module's.
  ({ dynamoDBRequestCount } = await import("../lib/db.js"));
  admin = await signedInAdmin(stack);
  await patchSettings(admin, { synchronizeGroups: true });
  await createGroups(big);
});
after(() => stack.close());
beforeEach(() => {
  stack.gitlab.clearFaults();
  stack.gitlab.setPaginationTotals(true);
});

describe("group synchronization", () => {
  test("asks GitLab for read_api while synchronization is on", async () => {
    assert.equal(await scopeRequested(), "read_api");
  });

  test("gives a member of a GitLab group the local group and every local subgroup below it", async () => {
    await createGroups(["inherit", "inherit/b", "inherit/b/c", "inheritx", "inherit-b", "other"]);
    const login = gitlabUser("heir", ["inherit"]);
    const browser = await signedIn(login);
    assert.deepEqual((await browser.json("/api/me")).body.groups, ["inherit", "inherit/b", "inherit/b/c"]);

    const deep = gitlabUser("deep-heir", ["inherit/b"]);
    await signedIn(deep);
    assert.deepEqual(await groupsOf(deep), ["inherit/b", "inherit/b/c"], "a subgroup member does not get the parent");
  });

  test("gives a subgroup member the local subgroup even when the parent group is not local", async () => {
    await createGroups(["absent-parent/child"]);
    const login = gitlabUser("orphan-child", ["absent-parent/child"]);
    await signedIn(login);
    assert.deepEqual(await groupsOf(login), ["absent-parent/child"]);
  });

  test("matches names exactly and case-sensitively", async () => {
    await createGroups(["CaseGroup", "casegroup-other/x"]);
    const login = gitlabUser("case-user", ["casegroup", "CaseGroup-other", "CASEGROUP-OTHER/x"]);
    await signedIn(login);
    assert.deepEqual(await groupsOf(login), []);

    const exact = gitlabUser("exact-case-user", ["CaseGroup"]);
    await signedIn(exact);
    assert.deepEqual(await groupsOf(exact), ["CaseGroup"]);
  });

  test("ignores GitLab groups that do not exist locally and never creates groups", async () => {
    const login = gitlabUser("wanderer", ["nowhere", "nowhere/deeper"]);
    await signedIn(login);
    assert.deepEqual(await groupsOf(login), []);
    const groups = await admin.json("/api/groups?q=nowhere");
    assert.deepEqual(groups.body.items, []);
  });

  test("lists synchronized members with source gitlab", async () => {
    const ids = await createGroups(["listed"]);
    const login = gitlabUser("listed-member", ["listed"]);
    await signedIn(login);
    const members = await admin.json(`/api/groups/${ids.get("listed")}/members`);
    assert.equal(members.status, 200);
    assert.deepEqual(members.body.items, [{ login, source: "gitlab" }]);
  });

  test("follows the user's GitLab groups at every sign-in: new ones added, left ones removed", async () => {
    await createGroups(["moving/from", "moving/to", "moving/stay"]);
    const login = gitlabUser("mover", ["moving/from", "moving/stay"]);
    await signedIn(login);
    assert.deepEqual(await groupsOf(login), ["moving/from", "moving/stay"]);
    stack.gitlab.setUserGroups(nextId - 1, ["moving/to", "moving/stay"]);
    const browser = await signedIn(login);
    assert.deepEqual(await groupsOf(login), ["moving/stay", "moving/to"]);
    assert.deepEqual((await browser.json("/api/me")).body.groups, ["moving/stay", "moving/to"]);
  });

  test("resets manually added memberships of a GitLab-provisioned user at sign-in", async () => {
    const ids = await createGroups(["reset/gitlab", "reset/manual"]);
    const login = gitlabUser("reset-user", ["reset/gitlab"]);
    await signedIn(login);
    await withSettings({ synchronizeGroups: false }, { synchronizeGroups: true }, async () => {
      const added = await admin.json(`/api/groups/${ids.get("reset/manual")}/members/${login}`, { method: "PUT" });
      assert.equal(added.status, 200, JSON.stringify(added.body));
      assert.deepEqual(added.body, { login, source: "manual" });
      assert.deepEqual(await groupsOf(login), ["reset/gitlab", "reset/manual"]);
    });
    await signedIn(login);
    assert.deepEqual(await groupsOf(login), ["reset/gitlab"], "the manual membership is gone");
    const members = await admin.json(`/api/groups/${ids.get("reset/manual")}/members`);
    assert.deepEqual(members.body.items, []);
  });

  test("resets the manual memberships of an API-created user at the sign-in that links it", async () => {
    const ids = await createGroups(["linked/gitlab", "linked/manual"]);
    assert.equal((await admin.json("/api/users", { method: "POST", body: JSON.stringify({ login: "pre-made" }) })).status, 201);
    const added = await admin.json(`/api/groups/${ids.get("linked/manual")}/members/pre-made`, { method: "PUT" });
    assert.equal(added.status, 200, "users created through the API stay manageable while synchronization is on");
    gitlabUser("pre-made", ["linked/gitlab"]);
    await signedIn("pre-made");
    assert.deepEqual(await groupsOf("pre-made"), ["linked/gitlab"]);
  });

  test("refuses manual membership edits of GitLab-provisioned users with 409, and allows them for API-created users", async () => {
    const ids = await createGroups(["guarded/synced", "guarded/other"]);
    const login = gitlabUser("guarded-user", ["guarded/synced"]);
    await signedIn(login);
    for (const [method, group] of [
      ["PUT", "guarded/other"],
      ["DELETE", "guarded/synced"],
    ] as const) {
      const response = await admin.json(`/api/groups/${ids.get(group)}/members/${login}`, { method });
      assert.equal(response.status, 409, `${method} ${group}`);
      assert.match(response.response.headers.get("content-type")!, /application\/problem\+json/);
      assert.match(response.body.detail, /managed by GitLab group synchronization/);
    }
    assert.deepEqual(await groupsOf(login), ["guarded/synced"], "nothing changed");

    assert.equal((await admin.json("/api/users", { method: "POST", body: JSON.stringify({ login: "api-made" }) })).status, 201);
    assert.equal((await admin.json(`/api/groups/${ids.get("guarded/other")}/members/api-made`, { method: "PUT" })).status, 200);
    assert.equal((await admin.json(`/api/groups/${ids.get("guarded/other")}/members/api-made`, { method: "DELETE" })).status, 204);

    await withSettings({ synchronizeGroups: false }, { synchronizeGroups: true }, async () => {
      const response = await admin.json(`/api/groups/${ids.get("guarded/other")}/members/${login}`, { method: "PUT" });
      assert.equal(response.status, 200, "manageable once synchronization is off");
      assert.equal((await admin.json(`/api/groups/${ids.get("guarded/other")}/members/${login}`, { method: "DELETE" })).status, 204);
    });
  });

  test("grants the permissions of a synchronized group, and takes them back when the user leaves it", async () => {
    await createGroups(["perm/admins"], ["admin"]);
    const login = gitlabUser("promoted", ["perm"]);
    const browser = await signedIn(login);
    const me = await browser.json("/api/me");
    assert.deepEqual(me.body.permissions, ["admin"]);
    assert.deepEqual(me.body.groups, ["perm/admins"]);
    assert.equal((await browser.json("/api/users?limit=1")).status, 200, "acts as an administrator");
    assert.deepEqual((await admin.json(`/api/users/${login}`)).body.permissions, [], "not held directly");

    stack.gitlab.setUserGroups(nextId - 1, []);
    const demoted = await signedIn(login);
    assert.deepEqual((await demoted.json("/api/me")).body.permissions, []);
    assert.equal((await demoted.json("/api/users?limit=1")).status, 403);
    assert.equal((await browser.json("/api/users?limit=1")).status, 403, "the earlier session loses it too");
  });

  test("with synchronization off, asks only read_user and leaves memberships alone", async () => {
    await createGroups(["off/synced"]);
    const login = gitlabUser("off-user", ["off/synced"]);
    await signedIn(login);
    assert.deepEqual(await groupsOf(login), ["off/synced"]);
    await withSettings({ synchronizeGroups: false }, { synchronizeGroups: true }, async () => {
      assert.equal(await scopeRequested(), "read_user");
      stack.gitlab.setUserGroups(nextId - 1, []);
      stack.gitlab.resetRequestCounts();
      await signedIn(login);
      assert.equal(stack.gitlab.requestCounts().groups, 0, "groups are not read");
      assert.deepEqual(await groupsOf(login), ["off/synced"], "kept while synchronization is off");
      const newcomer = gitlabUser("off-newcomer", ["off/synced"]);
      await signedIn(newcomer);
      assert.deepEqual(await groupsOf(newcomer), [], "nothing added while synchronization is off");
    });
  });

  test("asks to sign in again when synchronization was turned on after the sign-in started", async () => {
    const login = gitlabUser("scope-racer", ["off/synced"]);
    await withSettings({ synchronizeGroups: false }, { synchronizeGroups: true }, async () => {
      const browser = stack.browser();
      const authorize = await browser.startSignIn();
      assert.equal(authorize.searchParams.get("scope"), "read_user");
      const callback = await browser.approveAtGitLab(authorize, login);
      await patchSettings(admin, { synchronizeGroups: true });
      stack.gitlab.resetRequestCounts();
      const response = await browser.fetch(callback.pathname + callback.search);
      assert.equal(response.status, 400);
      assert.match(await response.text(), /settings changed while you were signing in/);
      assert.equal(stack.gitlab.requestCounts().token, 0, "the code is not exchanged");
      assert.equal(browser.sessionToken(), null);
    });
  });
});

describe("pagination of GitLab groups", () => {
  // 250 groups: three pages of up to 100, every one of them local.
  const paged = big.slice(0, 250);

  for (const totals of [true, false]) {
    test(`reads every page of 250 groups ${totals ? "with" : "without"} x-total headers`, async () => {
      stack.gitlab.setPaginationTotals(totals);
      const login = gitlabUser(`paged-${totals ? "totals" : "no-totals"}`, paged);
      stack.gitlab.resetRequestCounts();
      await signedIn(login);
      assert.deepEqual(await groupsOf(login), paged);
      assert.equal(stack.gitlab.requestCounts().groups, 3);
    });
  }

  test("follows x-next-page when GitLab sends no Link header", async () => {
    stack.gitlab.setPaginationTotals(false);
    stack.gitlab.setFault("groups", { headers: { Link: "" } });
    const login = gitlabUser("paged-next-page", paged);
    await signedIn(login);
    assert.deepEqual(await groupsOf(login), paged);
  });

  for (const [description, fault, page] of [
    ["answers 500 (retried once)", { status: 500 }, 2],
    ["answers 404", { status: 404 }, 2],
    ["sends malformed JSON", { body: "[{" }, 3],
    ["drops full_path from its groups", { dropField: "full_path" }, 2],
    ["sends an object instead of a list", { body: "{}" }, 2],
  ] as const) {
    test(`fails the sign-in with a 502 page and changes nothing when page ${page} ${description}`, async () => {
      const login = gitlabUser(`paged-fault-${nextId}`, paged);
      const first = await signedIn(login);
      // GitLab now says the user left 150 groups: applied, this would remove 150 memberships.
      const kept = paged.slice(0, 100);
      stack.gitlab.setUserGroups(nextId - 1, [...kept, ...range("elsewhere/g", 150)]);
      const before = await durableState(stack);
      stack.gitlab.setFault("groups", { ...fault, onPage: page });
      const { browser, status, body } = await signIn(login);
      assert.equal(status, 502);
      assert.match(body, /GitLab/);
      assert.equal(browser.sessionToken(), null, "no session");
      assert.deepEqual(await durableState(stack), before, "not one item changed");
      assert.deepEqual((await first.json("/api/me")).body.groups, paged, "memberships untouched");
      stack.gitlab.clearFaults();
      await signedIn(login);
      assert.deepEqual(await groupsOf(login), kept, "the next good sign-in applies the change");
    });
  }

  test("keeps memberships when the first groups page fails", async () => {
    const login = gitlabUser("first-page-fault", big.slice(0, 1));
    await signedIn(login);
    stack.gitlab.setUserGroups(nextId - 1, []);
    stack.gitlab.setFault("groups", { status: 403, onPage: 1 });
    assert.equal((await signIn(login)).status, 502);
    assert.deepEqual(await groupsOf(login), big.slice(0, 1));
  });
});

describe("a user in hundreds of groups", () => {
  test("gets all 300 local groups through inheritance and loses them when leaving GitLab's group", async () => {
    const login = gitlabUser("many-member", ["big"]);
    const browser = await signedIn(login);
    assert.deepEqual((await browser.json("/api/me")).body.groups, big);
    assert.deepEqual(await groupsOf(login), big);

    // Half of them: 150 removals and 150 stays.
    stack.gitlab.setUserGroups(nextId - 1, big.slice(0, 150));
    await signedIn(login);
    assert.deepEqual(await groupsOf(login), big.slice(0, 150));

    stack.gitlab.setUserGroups(nextId - 1, []);
    await signedIn(login);
    assert.deepEqual(await groupsOf(login), []);
  });

  test("gets 150 direct memberships spread over two GitLab pages", async () => {
    const login = gitlabUser("many-direct", big.slice(0, 150));
    await signedIn(login);
    assert.deepEqual(await groupsOf(login), big.slice(0, 150));
  });
});

describe("allowed groups", () => {
  before(async () => {
    await createGroups(["allowed", "allowed/x/y"]);
  });

  for (const synchronizeGroups of [true, false]) {
    describe(`with synchronization ${synchronizeGroups ? "on" : "off"}`, () => {
      before(() => patchSettings(admin, { synchronizeGroups, allowedGroups: ["allowed", "also/allowed"] }));
      after(() => patchSettings(admin, { synchronizeGroups: true, allowedGroups: [] }));
      const tag = synchronizeGroups ? "on" : "off";

      test("asks GitLab for read_api", async () => {
        assert.equal(await scopeRequested(), "read_api");
      });

      test("lets in members of an allowed group or of a subgroup below it", async () => {
        for (const groups of [["allowed"], ["allowed/x/y"], ["elsewhere", "also/allowed/deep"]]) {
          const login = gitlabUser(`allowed-${tag}-${nextId}`, groups);
          await signedIn(login);
        }
      });

      test("refuses others with a 403 page and writes nothing", async () => {
        for (const groups of [["allowedx"], ["Allowed"], ["also"], ["elsewhere/allowed"], []]) {
          const login = gitlabUser(`refused-${tag}-${nextId}`, groups);
          const { browser, status, body } = await signIn(login);
          assert.equal(status, 403, `groups ${JSON.stringify(groups)}`);
          assert.match(body, /not a member of an allowed group/);
          assert.equal(browser.sessionToken(), null);
          assert.equal((await admin.json(`/api/users/${login}`)).status, 404, "no user created");
        }
      });

      test(`${synchronizeGroups ? "synchronizes" : "leaves"} the memberships of an allowed user`, async () => {
        const login = gitlabUser(`allowed-member-${tag}`, ["allowed"]);
        await signedIn(login);
        assert.deepEqual(await groupsOf(login), synchronizeGroups ? ["allowed", "allowed/x/y"] : []);
      });

      test("refuses a returning user who left the allowed groups and keeps their memberships", async () => {
        const login = gitlabUser(`leaving-${tag}`, ["allowed/x/y"]);
        await signedIn(login);
        const groups = await groupsOf(login);
        stack.gitlab.setUserGroups(nextId - 1, ["allowed-not"]);
        const { status, body } = await signIn(login);
        assert.equal(status, 403);
        assert.match(body, /not a member of an allowed group/);
        assert.deepEqual(await groupsOf(login), groups);
      });
    });
  }
});

describe("cost of a sign-in", () => {
  test("GitLab calls: 1 token + 1 user + one per page of 100 groups", async () => {
    for (const [count, pages] of [
      [0, 1],
      [1, 1],
      [100, 1],
      [101, 2],
      [300, 3],
    ] as const) {
      const login = gitlabUser(`cost-calls-${count}`, big.slice(0, count));
      stack.gitlab.resetRequestCounts();
      await signedIn(login);
      assert.deepEqual(stack.gitlab.requestCounts(), { authorize: 1, token: 1, user: 1, groups: pages }, `${count} groups`);
    }
  });

  test("DynamoDB requests for a returning user with unchanged memberships are the same for 1, 100 and 300 groups", async (context) => {
    const sizes = [1, 100, 300];
    const logins = sizes.map((size) => gitlabUser(`cost-db-${size}`, big.slice(0, size)));
    for (const login of logins) await signedIn(login);
    const counts: number[] = [];
    for (const [index, login] of logins.entries()) {
      const start = dynamoDBRequestCount();
      await signedIn(login);
      counts.push(dynamoDBRequestCount() - start);
      assert.equal((await groupsOf(login)).length, sizes[index]);
    }
    context.diagnostic(`DynamoDB requests per returning sign-in (login + callback) for ${sizes.join(", ")} groups: ${counts.join(", ")}`);
    assert.equal(new Set(counts).size, 1, `counts ${counts.join(", ")}`);
    assert.ok(counts[0]! <= 8, `a small constant, got ${counts[0]}`);
  });
});
