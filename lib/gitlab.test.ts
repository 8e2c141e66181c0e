// Unit tests of GitLab pagination: which page comes next, and never another host.
import assert from "node:assert/strict";
import { test } from "node:test";
import { GitLabUnavailableError } from "./errors.js";
import { nextPageURL } from "./gitlab.js";

const gitlab = "https://gitlab.example.com";
const first = `${gitlab}/api/v4/groups?min_access_level=10&per_page=100`;

const cases: [name: string, headers: Record<string, string>, expected: string | null][] = [
  [
    "follows Link rel=next among other relations",
    { link: `<${gitlab}/api/v4/groups?page=1&per_page=100>; rel="prev", <${gitlab}/api/v4/groups?page=3&per_page=100>; rel="next", <${gitlab}/api/v4/groups?page=9>; rel="last"` },
    `${gitlab}/api/v4/groups?page=3&per_page=100`,
  ],
  ["falls back to x-next-page, keeping the query", { "x-next-page": "2" }, `${gitlab}/api/v4/groups?min_access_level=10&per_page=100&page=2`],
  ["stops when x-next-page is empty", { "x-next-page": "" }, null],
  ["stops without Link next or x-next-page (totals omitted)", { link: `<${gitlab}/api/v4/groups?page=1>; rel="first"` }, null],
  ["stops without any pagination header", {}, null],
];

for (const [name, headers, expected] of cases) {
  test(name, () => {
    assert.equal(nextPageURL(first, new Headers(headers), gitlab), expected);
  });
}

test("refuses a next link to another host, so the token never leaves GitLab", () => {
  const headers = new Headers({ link: `<https://evil.example/api/v4/groups?page=2>; rel="next"` });
  assert.throws(() => nextPageURL(first, headers, gitlab), GitLabUnavailableError);
});
