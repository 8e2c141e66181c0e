// Unit tests of the pure group logic: GitLab path matching, the catalog, membership diffs.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildGroupCatalog, effectivePermissions, groupNames, matchGroupsToGitLabPaths } from "./groups.js";
import type { Group } from "./groups.js";
import { diffMemberships } from "./memberships.js";
import type { Membership } from "./memberships.js";
import { isGroupPath, isSameOrSubgroup } from "./names.js";

function group(name: string, permissions: Group["permissions"] = []): Group {
  return { id: `id:${name}`, name, description: "", permissions };
}

function catalogOf(names: string[]): ReturnType<typeof buildGroupCatalog> {
  return buildGroupCatalog(1, names.map((name) => group(name)));
}

function matchedNames(localNames: string[], gitlabPaths: string[]): string[] {
  return [...matchGroupsToGitLabPaths(catalogOf(localNames), gitlabPaths)].map((id) => id.slice(3)).sort();
}

describe("isSameOrSubgroup", () => {
  const cases: [group: string, path: string, expected: boolean][] = [
    ["a", "a", true],
    ["a/b", "a", true],
    ["a/b/c", "a", true],
    ["a/b/c", "a/b", true],
    ["ab", "a", false],
    ["a-b", "a", false],
    ["a.b", "a", false],
    ["a", "a/b", false],
    ["A", "a", false],
    ["a/B", "a/b", false],
    ["A/b", "a", false],
    ["b/a", "a", false],
    ["", "a", false],
  ];
  for (const [name, path, expected] of cases) {
    test(`${JSON.stringify(name)} ${expected ? "is" : "is not"} ${JSON.stringify(path)} or below it`, () => {
      assert.equal(isSameOrSubgroup(name, path), expected);
    });
  }
});

describe("isGroupPath", () => {
  const cases: [value: string, expected: boolean][] = [
    ["team", true],
    ["Team", true],
    ["my-group/sub_group/x.y", true],
    ["a/b/c/d/e/f/g/h/i/j", true],
    ["", false],
    ["/team", false],
    ["team/", false],
    ["a//b", false],
    ["a b", false],
    ["a\\b", false],
    ["ünï", false],
    ["a".repeat(1024), true],
    ["a".repeat(1025), false],
  ];
  for (const [value, expected] of cases) {
    test(`${JSON.stringify(value.length > 40 ? `${value.slice(0, 10)}…(${value.length})` : value)} is ${expected ? "" : "not "}a GitLab full path`, () => {
      assert.equal(isGroupPath(value), expected);
    });
  }
});

describe("matchGroupsToGitLabPaths", () => {
  const local = ["a", "a/b", "a/b/c", "a/bc", "ab", "a-b", "a.b", "A", "A/b", "b", "b/a", "team", "Team", "x/y/z"];
  const cases: [description: string, gitlabPaths: string[], expected: string[]][] = [
    ["a member of a gets a and every local group below it", ["a"], ["a", "a/b", "a/b/c", "a/bc"]],
    ["a member of a/b gets a/b and a/b/c, not a nor a/bc", ["a/b"], ["a/b", "a/b/c"]],
    ["a deeper GitLab group matches only itself", ["a/b/c"], ["a/b/c"]],
    ["matching is case-sensitive", ["A"], ["A", "A/b"]],
    ["a case mismatch matches nothing", ["TEAM", "B"], []],
    ["team and Team are distinct", ["team"], ["team"]],
    ["GitLab groups missing locally are ignored", ["nowhere", "a/b/c/d", "x/q"], []],
    ["a GitLab subgroup grants its local subgroups even when the parent is not local", ["x/y"], ["x/y/z"]],
    ["several paths give the union", ["b", "ab", "a.b"], ["a.b", "ab", "b", "b/a"]],
    ["overlapping paths are counted once", ["a", "a/b", "a/b/c"], ["a", "a/b", "a/b/c", "a/bc"]],
    ["no GitLab groups, no targets", [], []],
  ];
  for (const [description, gitlabPaths, expected] of cases) {
    test(description, () => {
      assert.deepEqual(matchedNames(local, gitlabPaths), expected);
    });
  }

  test("an empty catalog matches nothing", () => {
    assert.deepEqual(matchedNames([], ["a", "b"]), []);
  });

  test("finds every descendant among many siblings whatever their sort position", () => {
    // Characters sorting before "/" ("-" and ".") sit between "a" and "a/…" in the sorted names.
    const names = ["a", "a-1", "a.1", "a-z/x", ...Array.from({ length: 300 }, (_, index) => `a/g${String(index).padStart(3, "0")}`), "a0", "b"];
    const matched = matchedNames(names, ["a"]);
    assert.equal(matched.length, 301);
    assert.ok(matched.every((name) => name === "a" || name.startsWith("a/")));
  });

  test("agrees with a direct scan on generated names", () => {
    const segments = ["a", "A", "ab", "a-b", "b", "0", "_"];
    const names = new Set<string>();
    for (const first of segments) {
      names.add(first);
      for (const second of segments) {
        names.add(`${first}/${second}`);
        for (const third of segments.slice(0, 3)) names.add(`${first}/${second}/${third}`);
      }
    }
    const local = [...names];
    for (const path of [...local, "c", "a/c", "a/"]) {
      const expected = local.filter((name) => isSameOrSubgroup(name, path)).sort();
      assert.deepEqual(matchedNames(local, [path]), expected, `path ${path}`);
    }
  });
});

describe("buildGroupCatalog", () => {
  test("indexes groups by id and sorts names by code unit, upper case first", () => {
    const catalog = buildGroupCatalog(7, [group("b"), group("a/b"), group("Team"), group("a"), group("team"), group("a-b")]);
    assert.equal(catalog.version, 7);
    assert.deepEqual(
      catalog.sortedNames.map((entry) => entry.name),
      ["Team", "a", "a-b", "a/b", "b", "team"],
    );
    assert.equal(catalog.byId.get("id:Team")?.name, "Team");
    assert.equal(catalog.byId.size, 6);
  });
});

describe("diffMemberships", () => {
  const membership = (groupId: string, source: Membership["source"] = "gitlab"): Membership => ({ groupId, source });
  const cases: [description: string, current: Membership[], target: string[], add: string[], remove: string[]][] = [
    ["nothing to do when equal", [membership("g1"), membership("g2")], ["g1", "g2"], [], []],
    ["adds what is missing", [membership("g1")], ["g1", "g2", "g3"], ["g2", "g3"], []],
    ["removes what is not in the target", [membership("g1"), membership("g2")], ["g2"], [], ["g1"]],
    ["removes manual memberships too", [membership("m1", "manual"), membership("g1")], ["g1"], [], ["m1"]],
    ["keeps a manual membership that is in the target", [membership("m1", "manual")], ["m1"], [], []],
    ["empty target removes everything", [membership("g1"), membership("m1", "manual")], [], [], ["g1", "m1"]],
    ["from nothing", [], ["g1"], ["g1"], []],
  ];
  for (const [description, current, target, add, remove] of cases) {
    test(description, () => {
      const diff = diffMemberships(current, new Set(target));
      assert.deepEqual(diff.add.sort(), add);
      assert.deepEqual(diff.remove.sort(), remove);
    });
  }
});

describe("effectivePermissions and groupNames", () => {
  const catalog = buildGroupCatalog(1, [group("admins", ["admin"]), group("devs"), group("ops/admins", ["admin"])]);
  const cases: [description: string, own: Group["permissions"], groupIds: string[], expected: string[]][] = [
    ["none of their own nor through groups", [], ["id:devs"], []],
    ["their own", ["admin"], [], ["admin"]],
    ["through a group", [], ["id:devs", "id:admins"], ["admin"]],
    ["once when held both ways", ["admin"], ["id:admins", "id:ops/admins"], ["admin"]],
    ["ignores groups missing from the catalog", [], ["id:gone"], []],
  ];
  for (const [description, own, groupIds, expected] of cases) {
    test(`permissions: ${description}`, () => {
      assert.deepEqual(effectivePermissions(own, groupIds, catalog), expected);
    });
  }

  test("group names are sorted and skip unknown ids", () => {
    assert.deepEqual(groupNames(["id:ops/admins", "id:gone", "id:admins"], catalog), ["admins", "ops/admins"]);
  });
});
