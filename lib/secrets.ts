// Reads an SSM Parameter Store SecureString at cold start: how deployed functions get the GitLab
// application secret without it appearing in the CloudFormation template or their configuration.
// One signed GetParameter call with the SDK's own SigV4 signer (already in every bundle), rather
// than @aws-sdk/client-ssm, which would add 78 KB to each function for this single call.
import { SignatureV4 } from "@smithy/signature-v4";
import { createHash, createHmac } from "node:crypto";
import type { Hash, Hmac } from "node:crypto";
import { isRecord } from "./parse.js";

type SourceData = string | ArrayBuffer | ArrayBufferView;

function toBuffer(data: SourceData): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** SHA-256 (or HMAC-SHA-256 with a key) in the shape the signer expects. */
class Sha256 {
  #hash: Hash | Hmac;

  constructor(private readonly key?: SourceData) {
    this.#hash = Sha256.create(key);
  }

  private static create(key?: SourceData): Hash | Hmac {
    return key === undefined ? createHash("sha256") : createHmac("sha256", toBuffer(key));
  }

  update(data: SourceData): void {
    this.#hash.update(toBuffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = Sha256.create(this.key);
  }
}

export class SecretParameterError extends Error {
  override name = "SecretParameterError";

  /** The AWS error type, e.g. ParameterNotFound or AccessDeniedException, when there is one. */
  constructor(
    message: string,
    readonly type: string | null = null,
  ) {
    super(message);
  }
}

/**
 * The decrypted value of a SecureString parameter. Credentials and region are Lambda's
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION);
 * AWS_ENDPOINT_URL_SSM points elsewhere, as it does for the SDK. Errors name the parameter
 * and the status, never a response body.
 */
export async function readSecureParameter(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "";
  const accessKeyId = env.AWS_ACCESS_KEY_ID ?? "";
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY ?? "";
  if (region === "" || accessKeyId === "" || secretAccessKey === "") {
    throw new SecretParameterError(`Cannot read ${name}: AWS_REGION and AWS credentials are not set.`);
  }
  const endpoint = new URL(env.AWS_ENDPOINT_URL_SSM ?? `https://ssm.${region}.amazonaws.com/`);
  const body = JSON.stringify({ Name: name, WithDecryption: true });
  const signer = new SignatureV4({
    service: "ssm",
    region,
    credentials: { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN }) },
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: "POST",
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    ...(endpoint.port !== "" && { port: Number(endpoint.port) }),
    path: endpoint.pathname,
    query: {},
    headers: { host: endpoint.host, "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameter" },
    body,
  });
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(endpoint, { method: "POST", headers: signed.headers, body, signal: AbortSignal.timeout(5000) });
    const text = await response.text();
    if (response.ok) return parameterValue(text, name);
    // Throttling (400 ThrottlingException) and server errors are worth one more try.
    const retryable = response.status >= 500 || (response.status === 400 && text.includes("Throttling"));
    if (retryable && attempt < 3) {
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt * (1 + Math.random())));
      continue;
    }
    const type = /"__type"\s*:\s*"(?:[^"#]*#)?([A-Za-z]+)"/.exec(text)?.[1] ?? null;
    throw new SecretParameterError(`Reading the SSM parameter ${name} failed: ${response.status} ${type ?? "error"}.`, type);
  }
}

/** Like readSecureParameter, but null when the parameter does not exist (yet). */
export async function readOptionalSecureParameter(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  try {
    return await readSecureParameter(name, env);
  } catch (error) {
    if (error instanceof SecretParameterError && error.type === "ParameterNotFound") return null;
    throw error;
  }
}

function parameterValue(text: string, name: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const parameter = isRecord(parsed) ? parsed.Parameter : undefined;
  const value = isRecord(parameter) ? parameter.Value : undefined;
  if (typeof value !== "string" || value === "") throw new SecretParameterError(`The SSM parameter ${name} has no value.`);
  return value;
}
