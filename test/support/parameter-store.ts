// A stand-in for SSM Parameter Store over real HTTP: GetParameter on the AWS JSON 1.1 protocol,
// answering only SigV4-signed requests, as the service does.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface ParameterStore {
  url: string;
  /** GetParameter requests received, signed or not. */
  requests: { name: string; withDecryption: boolean; authorization: string }[];
  /** Answer the next `times` requests with this status and AWS error type. */
  failNext(times: number, status: number, type: string): void;
  close(): Promise<void>;
}

export async function startParameterStore(parameters: Record<string, string>): Promise<ParameterStore> {
  const requests: ParameterStore["requests"] = [];
  let failure: { times: number; status: number; type: string } | null = null;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const reply = (status: number, body: unknown): void => {
        response.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        response.end(JSON.stringify(body));
      };
      const authorization = request.headers.authorization ?? "";
      let input: { Name?: unknown; WithDecryption?: unknown } = {};
      try {
        input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return reply(400, { __type: "SerializationException" });
      }
      const name = typeof input.Name === "string" ? input.Name : "";
      requests.push({ name, withDecryption: input.WithDecryption === true, authorization });
      if (request.headers["x-amz-target"] !== "AmazonSSM.GetParameter") return reply(400, { __type: "UnknownOperationException" });
      if (!/^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/ssm\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/.test(authorization)) {
        return reply(400, { __type: "com.amazon.coral.service#IncompleteSignatureException", message: "not signed" });
      }
      if (failure !== null && failure.times > 0) {
        failure.times -= 1;
        return reply(failure.status, { __type: failure.type, message: "injected" });
      }
      const value = parameters[name];
      if (value === undefined) return reply(400, { __type: "ParameterNotFound" });
      reply(200, { Parameter: { Name: name, Type: "SecureString", Value: value, Version: 1 } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    failNext: (times, status, type) => {
      failure = { times, status, type };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
