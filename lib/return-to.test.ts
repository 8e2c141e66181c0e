// Unit tests of the post-sign-in address: only same-origin relative paths survive.
import assert from "node:assert/strict";
import { test } from "node:test";
import { safeReturnTo } from "./return-to.js";

const cases: [input: string | null, expected: string][] = [
  ["/projects/42?tab=1#top", "/projects/42?tab=1#top"],
  ["/", "/"],
  ["/a/../b", "/b"],
  [null, "/"],
  ["", "/"],
  ["projects", "/"],
  ["//evil.example", "/"],
  ["/\\evil.example", "/"],
  ["\\\\evil.example", "/"],
  ["https://evil.example/", "/"],
  ["javascript:alert(1)", "/"],
  ["/.//evil.example", "/"],
  ["/..//evil.example", "/"],
  ["/%2e//evil.example", "/"],
  ["/\tevil", "/"],
  ["/x\r\nSet-Cookie: a=b", "/"],
  ["/" + "a".repeat(3000), "/"],
];

for (const [input, expected] of cases) {
  test(`return_to ${JSON.stringify(input)?.slice(0, 40)} becomes ${expected}`, () => {
    assert.equal(safeReturnTo(input), expected);
  });
}
