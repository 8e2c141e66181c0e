// The GitLab secret from an SSM SecureString: a signed GetParameter, retries on throttling,
// and errors that name the parameter without echoing what the service said.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { readOptionalSecureParameter, readSecureParameter, SecretParameterError } from "../lib/secrets.js";
import { startParameterStore } from "./support/parameter-store.js";
import type { ParameterStore } from "./support/parameter-store.js";

let store: ParameterStore;
let env: NodeJS.ProcessEnv;
const name = "/gitlab-jit/test/gitlab-secret";

before(async () => {
  store = await startParameterStore({ [name]: "s3cret-from-ssm" });
  env = { AWS_REGION: "eu-west-1", AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI", AWS_SESSION_TOKEN: "session-token", AWS_ENDPOINT_URL_SSM: store.url };
});
after(() => store.close());

test("reads a SecureString with decryption through a SigV4-signed request", async () => {
  assert.equal(await readSecureParameter(name, env), "s3cret-from-ssm");
  const request = store.requests.at(-1)!;
  assert.deepEqual({ name: request.name, withDecryption: request.withDecryption }, { name, withDecryption: true });
  assert.match(request.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ssm\/aws4_request, SignedHeaders=[^,]*x-amz-security-token[^,]*x-amz-target/);
});

test("retries a throttled read", async () => {
  store.failNext(2, 400, "ThrottlingException");
  const before = store.requests.length;
  assert.equal(await readSecureParameter(name, env), "s3cret-from-ssm");
  assert.equal(store.requests.length - before, 3);
});

test("names a missing parameter and the error type", async () => {
  await assert.rejects(readSecureParameter("/gitlab-jit/test/missing", env), (error: unknown) => {
    assert.ok(error instanceof SecretParameterError);
    assert.equal(error.message, "Reading the SSM parameter /gitlab-jit/test/missing failed: 400 ParameterNotFound.");
    return true;
  });
});

test("does not retry a refusal, and does not repeat the service's message", async () => {
  store.failNext(1, 400, "com.amazonaws.kms#AccessDeniedException");
  const before = store.requests.length;
  await assert.rejects(readSecureParameter(name, env), /failed: 400 AccessDeniedException\.$/);
  assert.equal(store.requests.length - before, 1);
});

test("refuses to run without a region or credentials", async () => {
  await assert.rejects(readSecureParameter(name, { AWS_ENDPOINT_URL_SSM: store.url }), SecretParameterError);
});

test("reads a parameter that does not exist yet as absent", async () => {
  assert.equal(await readOptionalSecureParameter("/gitlab-jit/test/missing", env), null);
  store.failNext(1, 400, "AccessDeniedException");
  await assert.rejects(readOptionalSecureParameter(name, env), SecretParameterError);
});
