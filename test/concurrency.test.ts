// Concurrency against DynamoDB Local: simultaneous sign-ins, sign-ins racing admin edits and
// group deletion, and simultaneous settings saves. Every request must succeed or fail with its
// documented status; transaction conflicts are retried inside the service, never surfaced.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createGroup, listAll, orphanMemberships, outcomeSummary, patchSettings, prepareCallback, seededRandom, signedInAdmin } from "./support/hardening.js";
import { startStack } from "./support/stack.js";
import type { Browser } from "./support/browser.js";
import type { Stack } from "./support/stack.js";

let stack: Stack;
let admin: Browser;

before(async () => {
  stack = await startStack({
    users: [{ id: 1, username: "root", name: "Root", email: "root@example.com" }],
    // Hundreds of parallel sign-ins on a small CI machine: deadlines are not what this file tests.
    env: { INITIAL_ADMINS: "root", GITLAB_TIMEOUT_MS: "20000" },
  });
  admin = await signedInAdmin(stack);
});
after(() => stack.close());

describe("simultaneous sign-ins", () => {
  test("50 simultaneous first sign-ins of one GitLab user create exactly one user and 50 valid sessions", async () => {
    stack.gitlab.upsertUser({ id: 100, username: "crowd", name: "Crowd", email: "crowd@example.com" });
    const browsers = Array.from({ length: 50 }, () => stack.browser());
    const callbacks = await Promise.all(browsers.map((browser) => prepareCallback(browser, "crowd")));
    const responses = await Promise.all(browsers.map((browser, index) => browser.fetch(callbacks[index]!)));
    const bodies = await Promise.all(responses.map((response) => response.text()));
    assert.deepEqual(
      responses.map((response, index) => outcomeSummary(response.status, bodies[index]!)),
      responses.map(() => "302"),
    );
    const users = await listAll(admin, "/api/users?q=crowd");
    assert.equal(users.length, 1);
    assert.equal(users[0].gitlabId, 100);
    const tokens = new Set(browsers.map((browser) => browser.sessionToken()));
    assert.equal(tokens.size, 50, "every sign-in got its own session");
    const mes = await Promise.all(browsers.map((browser) => browser.json("/api/me")));
    assert.deepEqual(
      mes.map((me) => `${me.status} ${me.body.login}`),
      mes.map(() => "200 crowd"),
    );
  });

  test("200 sign-ins of distinct new users in parallel all succeed", async () => {
    const count = 200;
    for (let index = 0; index < count; index++) {
      stack.gitlab.upsertUser({ id: 1000 + index, username: `many-${index}`, name: `Many ${index}`, email: `many-${index}@example.com` });
    }
    const browsers = Array.from({ length: count }, () => stack.browser());
    const outcomes = await Promise.all(browsers.map((browser, index) => browser.signIn(`many-${index}`)));
    assert.deepEqual(
      outcomes.map((outcome) => outcomeSummary(outcome.response.status, outcome.body)),
      outcomes.map(() => "302"),
    );
    const users = await listAll(admin, "/api/users?q=many-");
    assert.equal(users.length, count);
    assert.equal(new Set(users.map((user) => user.gitlabId)).size, count);
    const mes = await Promise.all(browsers.map((browser) => browser.json("/api/me")));
    assert.deepEqual(
      mes.map((me) => me.body.login),
      browsers.map((_, index) => `many-${index}`),
    );
  });
});

describe("sign-ins racing admin edits", () => {
  test("sign-ins with sync on, membership edits and group deletion leave no orphan and no duplicate membership", async () => {
    const random = seededRandom(6);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
    const gitlabPaths = ["race", "race/a", "race/b", "race/b/deep", "other", "other/x"];
    const groups = new Map<string, string>();
    for (const name of [...gitlabPaths, "race/c", "manual-only"]) groups.set(name, await createGroup(admin, name));
    await patchSettings(admin, { synchronizeGroups: true });
    try {
      const logins = Array.from({ length: 8 }, (_, index) => `racer-${index}`);
      const gitlabGroupsOf = new Map<string, string[]>();
      for (const [index, login] of logins.entries()) {
        // Created through the API, so admins may still edit their memberships while sync is on.
        assert.equal((await admin.json("/api/users", { method: "POST", body: JSON.stringify({ login }) })).status, 201);
        gitlabGroupsOf.set(login, [pick(gitlabPaths), pick(gitlabPaths)]);
        stack.gitlab.upsertUser({ id: 300 + index, username: login, name: login, email: `${login}@example.com`, groups: gitlabGroupsOf.get(login) });
      }
      const doomed = [groups.get("race/b")!, groups.get("manual-only")!];
      const groupIds = [...groups.values()];

      // Three sign-ins per user, prepared first so they hit the callback together with the edits.
      const signIns = await Promise.all(
        logins.flatMap((login) => [0, 1, 2].map(async () => {
          const browser = stack.browser();
          return { browser, callback: await prepareCallback(browser, login) };
        })),
      );
      const edits = Array.from({ length: 60 }, () => ({ method: random() < 0.6 ? "PUT" : "DELETE", group: pick(groupIds), login: pick(logins) }));
      const results = await Promise.all([
        ...signIns.map(async ({ browser, callback }) => {
          const response = await browser.fetch(callback);
          return { kind: "sign-in", status: response.status, detail: outcomeSummary(response.status, await response.text()) };
        }),
        ...edits.map(async ({ method, group, login }) => ({
          kind: `${method} member`,
          status: (await admin.json(`/api/groups/${group}/members/${login}`, { method })).status,
        })),
        ...doomed.map(async (group) => ({ kind: "DELETE group", status: (await admin.json(`/api/groups/${group}`, { method: "DELETE" })).status })),
      ]);
      const allowed: Record<string, number[]> = { "sign-in": [302], "PUT member": [200, 404], "DELETE member": [204, 404], "DELETE group": [204] };
      for (const result of results) assert.ok(allowed[result.kind]!.includes(result.status), `${result.kind} answered ${"detail" in result ? result.detail : result.status}`);

      assert.deepEqual(await orphanMemberships(stack), [], "no membership points to a missing user or group");
      const listedGroups = await listAll(admin, "/api/groups?q=");
      for (const id of doomed) {
        assert.equal(listedGroups.some((group) => group.id === id), false, "a deleted group is not listed");
        assert.equal((await admin.json(`/api/groups/${id}/members`)).status, 404);
      }
      const names = new Map(listedGroups.map((group) => [group.id, group.name]));
      const memberOf = new Map<string, Set<string>>(logins.map((login) => [login, new Set()]));
      for (const group of listedGroups) {
        const members = await listAll(admin, `/api/groups/${group.id}/members`);
        const memberLogins = members.map((member) => member.login);
        assert.equal(new Set(memberLogins).size, memberLogins.length, `duplicate member in ${group.name}`);
        for (const login of memberLogins) memberOf.get(login)?.add(group.name);
      }
      for (const login of logins) {
        const user = await admin.json(`/api/users/${login}`);
        assert.equal(user.status, 200);
        assert.equal(new Set(user.body.groups).size, user.body.groups.length, `duplicate group of ${login}`);
        assert.deepEqual([...user.body.groups].sort(), [...memberOf.get(login)!].sort(), `${login}: user view and member lists agree`);
        for (const name of user.body.groups) assert.ok([...names.values()].includes(name), `${login} is in a missing group ${name}`);
      }

      // Synchronization converges: one more sign-in makes every user's groups exactly the target set.
      for (const login of logins) {
        const browser = stack.browser();
        assert.equal((await browser.signIn(login)).response.status, 302);
        const paths = gitlabGroupsOf.get(login)!;
        const expected = [...names.values()].filter((name) => paths.some((path) => name === path || name.startsWith(`${path}/`))).sort();
        assert.deepEqual((await browser.json("/api/me")).body.groups, expected, `${login} converged`);
      }
    } finally {
      await patchSettings(admin, { synchronizeGroups: false });
    }
  });
});

describe("settings saved at the same time", () => {
  test("two saves with the same If-Match ETag: one 200, the other 412, and the loser's change is not saved", async () => {
    for (let round = 0; round < 5; round++) {
      const read = await admin.json("/api/settings/gitlab");
      const etag = read.response.headers.get("etag")!;
      const [first, second] = await Promise.all(
        [`race-${round}-first`, `race-${round}-second`].map((allowed) =>
          admin.json("/api/settings/gitlab", { method: "PATCH", headers: { "if-match": etag }, body: JSON.stringify({ allowedGroups: [allowed] }) }),
        ),
      );
      assert.deepEqual([first!.status, second!.status].sort(), [200, 412]);
      const winner = first!.status === 200 ? first! : second!;
      const now = await admin.json("/api/settings/gitlab");
      assert.deepEqual(now.body.allowedGroups, winner.body.allowedGroups);
      assert.equal(now.response.headers.get("etag"), winner.response.headers.get("etag"));
    }
    await patchSettings(admin, { allowedGroups: [] });
  });
});
