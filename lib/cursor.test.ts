// Unit tests of page cursors: opaque round trips, and forged or foreign cursors refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeCursor, encodeCursor, parseLimit } from "./cursor.js";
import { ValidationError } from "./errors.js";

test("round-trips a start key", () => {
  const key = { pk: "GROUP#1", sk: "GROUP", gsi1pk: "GROUPS", gsi1sk: "team" };
  assert.deepEqual(decodeCursor(encodeCursor(key), { gsi1pk: "GROUPS" }), key);
  assert.equal(encodeCursor(null), null);
  assert.equal(decodeCursor(null, {}), undefined);
  assert.equal(decodeCursor("", {}), undefined);
});

const forged: [name: string, cursor: string][] = [
  ["not base64url", "not a cursor!"],
  ["not JSON", Buffer.from("{oops").toString("base64url")],
  ["an array", Buffer.from("[]").toString("base64url")],
  ["an unknown attribute", Buffer.from(JSON.stringify({ pk: "a", sk: "b", admin: "yes" })).toString("base64url")],
  ["a non-string value", Buffer.from(JSON.stringify({ pk: 1, sk: "b" })).toString("base64url")],
  ["another listing's partition", encodeCursor({ pk: "USER#1", sk: "PROFILE", gsi1pk: "USERS", gsi1sk: "bob" })!],
  ["too long", "a".repeat(5000)],
];

for (const [name, cursor] of forged) {
  test(`refuses a cursor that is ${name}`, () => {
    assert.throws(() => decodeCursor(cursor, { gsi1pk: "GROUPS" }), ValidationError);
  });
}

test("accepts limits from 1 to 100 and refuses the rest", () => {
  assert.equal(parseLimit(null), 50);
  assert.equal(parseLimit("1"), 1);
  assert.equal(parseLimit("100"), 100);
  for (const bad of ["0", "101", "-1", "1.5", "ten", "1e2"]) assert.throws(() => parseLimit(bad), ValidationError, bad);
});
