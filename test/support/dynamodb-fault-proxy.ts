// A pass-through HTTP proxy in front of DynamoDB Local that answers chosen requests with the
// errors real DynamoDB sends under load (throttling, transactions cancelled by a conflict).
// DynamoDB Local never throttles and serializes transactions, so this is how those paths are
// exercised over real HTTP through the real AWS SDK.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface DynamoDBFault {
  /** The operation, e.g. "TransactWriteItems", "GetItem", "BatchGetItem". */
  operation: string;
  /** Only requests whose JSON body contains this text (e.g. "SESSION#")... */
  bodyIncludes?: string;
  /** ...and none of these. */
  bodyExcludes?: string[];
  kind: "throttling" | "transaction-conflict";
  /** Answer this many matching requests with the error, then pass through; default: all. */
  times?: number;
}

export interface DynamoDBFaultProxy {
  endpoint: string;
  setFault(fault: DynamoDBFault | null): void;
  /** Requests answered with an error since the last setFault with a fault (kept after clearing). */
  injected(): number;
  close(): Promise<void>;
}

function errorBody(kind: DynamoDBFault["kind"], requestBody: string): string {
  if (kind === "throttling") {
    return JSON.stringify({
      __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
      message: "The level of configured provisioned throughput for the table was exceeded.",
    });
  }
  const count = (JSON.parse(requestBody) as { TransactItems?: unknown[] }).TransactItems?.length ?? 1;
  const reasons = Array.from({ length: count }, (_, index) => (index === 0 ? { Code: "TransactionConflict", Message: "Transaction is ongoing for the item" } : { Code: "None" }));
  return JSON.stringify({
    __type: "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
    Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((reason) => reason.Code).join(", ")}]`,
    CancellationReasons: reasons,
  });
}

export async function startDynamoDBFaultProxy(target: string): Promise<DynamoDBFaultProxy> {
  let fault: DynamoDBFault | null = null;
  let injected = 0;
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const operation = String(request.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
    const active = fault;
    const matches =
      active !== null &&
      active.operation === operation &&
      (active.bodyIncludes === undefined || body.includes(active.bodyIncludes)) &&
      !(active.bodyExcludes ?? []).some((text) => body.includes(text));
    if (active !== null && matches) {
      if (active.times !== undefined && --active.times <= 0) fault = null;
      injected += 1;
      response.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
      response.end(errorBody(active.kind, body));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (name !== "host" && name !== "connection" && name !== "content-length" && typeof value === "string") headers[name] = value;
    }
    try {
      const upstream = await fetch(target, { method: request.method, headers, body });
      response.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/x-amz-json-1.0" });
      response.end(Buffer.from(await upstream.arrayBuffer()));
    } catch {
      response.writeHead(502);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setFault: (next) => {
      fault = next === null ? null : { ...next };
      if (next !== null) injected = 0;
    },
    injected: () => injected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
