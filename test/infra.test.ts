// `osls package` builds offline, and the CloudFormation it generates is the deployment we mean:
// three functions with exactly their routes, one role each allowed only what its code does,
// a table kept outside development stages, and no GitLab secret anywhere in what is uploaded.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { build } from "esbuild";
import { packageService } from "../infra/package.js";
import type { CloudFormationResource, PackagedService } from "../infra/package.js";
import table from "../infra/table.json" with { type: "json" };

const functionNames = ["auth", "provisioning", "settings"] as const;
type FunctionName = (typeof functionNames)[number];
const logicalName = (name: FunctionName): string => name[0]!.toUpperCase() + name.slice(1);
const secretCanary = "canary-gitlab-secret-8d1f0c";

let directory: string;
let dev: PackagedService;
let prod: PackagedService;

before(async () => {
  directory = mkdtempSync(join(tmpdir(), "gitlab-jit-package-"));
  // A GitLab secret in the operator's shell must not leak into what a deploy uploads.
  const env = { GITLAB_SECRET: secretCanary };
  dev = await packageService("dev", join(directory, "dev"), env);
  prod = await packageService("prod", join(directory, "prod"), env);
});

after(() => rmSync(directory, { recursive: true, force: true }));

function resourcesOfType(service: PackagedService, type: string): [string, CloudFormationResource][] {
  return Object.entries(service.template.Resources).filter(([, resource]) => resource.Type === type);
}

function resource(service: PackagedService, name: string): CloudFormationResource {
  const found = service.template.Resources[name];
  assert.ok(found !== undefined, `no ${name} in the template`);
  return found;
}

/** Every string anywhere inside a CloudFormation value, intrinsic functions included. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === "object" && value !== null) return Object.values(value).flatMap(strings);
  return [];
}

async function routeExports(): Promise<Record<FunctionName, string[]>> {
  const routes = {} as Record<FunctionName, string[]>;
  for (const name of functionNames) {
    const module: { routes: { method: string; path: string }[] } = await import(`../functions/${name}.js`);
    routes[name] = module.routes.map((route) => `${route.method} ${route.path}`).sort();
  }
  return routes;
}

const commandActions: Record<string, string> = {
  Get: "dynamodb:GetItem",
  Put: "dynamodb:PutItem",
  Update: "dynamodb:UpdateItem",
  Delete: "dynamodb:DeleteItem",
  Query: "dynamodb:Query",
  Scan: "dynamodb:Scan",
  BatchGet: "dynamodb:BatchGetItem",
  BatchWrite: "dynamodb:BatchWriteItem",
  TransactGet: "dynamodb:GetItem",
};
const transactItemActions: Record<string, string> = {
  Put: "dynamodb:PutItem",
  Update: "dynamodb:UpdateItem",
  Delete: "dynamodb:DeleteItem",
  ConditionCheck: "dynamodb:ConditionCheckItem",
};

/**
 * The DynamoDB actions a function's code can perform, read from its own code as esbuild keeps
 * it after tree shaking (packages left out): each command it constructs, and for transactions,
 * each kind of item it writes (TransactWriteItems is authorised per item).
 */
async function dynamoDBUse(name: FunctionName): Promise<{ actions: string[]; usesIndex: boolean }> {
  const result = await build({ entryPoints: [`functions/${name}.ts`], bundle: true, write: false, platform: "node", format: "esm", packages: "external", logLevel: "silent" });
  const code = result.outputFiles[0]!.text;
  const actions = new Set<string>();
  for (const [, command] of code.matchAll(/new (\w+)Command\d*\(/g)) {
    if (command === "TransactWrite") {
      for (const [, kind] of code.matchAll(/\b(Put|Update|Delete|ConditionCheck):\s*\{/g)) actions.add(transactItemActions[kind!]!);
    } else {
      assert.ok(commandActions[command!] !== undefined, `${name} uses ${command}Command, which this test does not know`);
      actions.add(commandActions[command!]!);
    }
  }
  return { actions: [...actions].sort(), usesIndex: /\bIndexName\b/.test(code) };
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

function roleStatements(service: PackagedService, name: FunctionName): Statement[] {
  const functionResource = resource(service, `${logicalName(name)}LambdaFunction`);
  const roleName = functionResource.Properties!.Role["Fn::GetAtt"][0];
  const role = resource(service, roleName);
  assert.equal(role.Type, "AWS::IAM::Role");
  return role.Properties!.Policies.flatMap((policy: { PolicyDocument: { Statement: unknown[] } }) =>
    policy.PolicyDocument.Statement.map((statement) => {
      // A statement that exists only under a condition (a customer managed KMS key).
      const conditional = (statement as { "Fn::If"?: [string, Statement, unknown] })["Fn::If"];
      return conditional === undefined ? (statement as Statement) : conditional[1];
    }),
  );
}

const actionsOf = (statement: Statement): string[] => [statement.Action].flat();

test("packages the three functions, each one bundle on Node.js 22 on arm64 with its own role", () => {
  for (const service of [dev, prod]) {
    assert.deepEqual(service.functions.map((fn) => fn.name), [...functionNames]);
    for (const fn of service.functions) assert.equal(fn.bundlePath, `functions/${fn.name}.mjs`);
    const roles = new Set<string>();
    for (const name of functionNames) {
      const properties = resource(service, `${logicalName(name)}LambdaFunction`).Properties!;
      assert.equal(properties.Runtime, "nodejs22.x");
      assert.deepEqual(properties.Architectures, ["arm64"]);
      assert.equal(properties.Handler, `functions/${name}.handler`);
      assert.ok(properties.MemorySize >= 128 && properties.MemorySize <= 1024, `${name} memory`);
      assert.ok(properties.Timeout >= 3 && properties.Timeout <= 29, `${name} must end before API Gateway's 30 s`);
      roles.add(properties.Role["Fn::GetAtt"][0]);
    }
    assert.equal(roles.size, 3, "one role per function");
    assert.deepEqual(resourcesOfType(service, "AWS::IAM::Role").map(([name]) => name).sort(), [...roles].sort(), "no other role");
  }
});

test("routes every path a function serves, and only those, to that function", async () => {
  const exported = await routeExports();
  const integrations = new Map<string, FunctionName>();
  for (const name of functionNames) {
    const integration = resource(prod, `HttpApiIntegration${logicalName(name)}`).Properties!;
    assert.deepEqual(integration.IntegrationUri, { "Fn::GetAtt": [`${logicalName(name)}LambdaFunction`, "Arn"] });
    assert.equal(integration.PayloadFormatVersion, "2.0");
    integrations.set(`HttpApiIntegration${logicalName(name)}`, name);
  }
  const routed = Object.fromEntries(functionNames.map((name) => [name, [] as string[]])) as Record<FunctionName, string[]>;
  for (const [, route] of resourcesOfType(prod, "AWS::ApiGatewayV2::Route")) {
    const integration: string = route.Properties!.Target["Fn::Join"][1][1].Ref;
    routed[integrations.get(integration)!].push(route.Properties!.RouteKey);
  }
  for (const name of functionNames) assert.deepEqual(routed[name].sort(), exported[name], `${name}: serverless.yml events vs functions/${name}.ts routes`);
});

test("gives each role exactly the DynamoDB actions its code uses, on the table and its index", async () => {
  const indexes = table.GlobalSecondaryIndexes.map((index) => index.IndexName);
  for (const name of functionNames) {
    const use = await dynamoDBUse(name);
    const statements = roleStatements(prod, name).filter((statement) => actionsOf(statement).some((action) => action.startsWith("dynamodb:")));
    const onTable = statements.filter((statement) => JSON.stringify(statement.Resource) === JSON.stringify({ "Fn::GetAtt": ["Table", "Arn"] }));
    assert.deepEqual(onTable.flatMap(actionsOf).sort(), use.actions, `${name}: actions on the table (serverless.yml ${logicalName(name)}Role)`);
    const onIndexes = statements.filter((statement) => !onTable.includes(statement));
    const expectedIndexes = use.usesIndex ? indexes.map((index) => ({ "Fn::Sub": `\${Table.Arn}/index/${index}` })) : [];
    assert.deepEqual(onIndexes.map((statement) => statement.Resource), expectedIndexes, `${name}: index resources`);
    for (const statement of onIndexes) assert.deepEqual(actionsOf(statement), ["dynamodb:Query"], `${name}: indexes are only queried`);
  }
});

test("uses no wildcard in any action or resource, and scopes logs to the function's own group", () => {
  for (const name of functionNames) {
    const statements = roleStatements(prod, name);
    for (const statement of statements) {
      assert.equal(statement.Effect, "Allow");
      for (const action of actionsOf(statement)) assert.ok(!action.includes("*"), `${name}: action ${action}`);
      for (const text of strings(statement.Resource)) assert.ok(!text.includes("*"), `${name}: resource ${text}`);
    }
    const logs = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith("logs:")));
    assert.equal(logs.length, 1);
    assert.deepEqual(actionsOf(logs[0]!).sort(), ["logs:CreateLogStream", "logs:PutLogEvents"]);
    assert.deepEqual(logs[0]!.Resource, { "Fn::GetAtt": [`${logicalName(name)}LogGroup`, "Arn"] });
    const logGroup = resource(prod, `${logicalName(name)}LogGroup`).Properties!;
    assert.equal(logGroup.LogGroupName, `/aws/lambda/gitlab-jit-prod-${name}`);
    assert.ok(logGroup.RetentionInDays > 0, "logs expire");
  }
});

test("lets only the functions that need the GitLab secret read its SSM parameter", () => {
  const parameterARN = { "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/gitlab-jit/prod/gitlab-secret" };
  for (const name of functionNames) {
    const needsSecret = name !== "provisioning";
    const ssm = roleStatements(prod, name).filter((statement) => actionsOf(statement).some((action) => action.startsWith("ssm:")));
    const variables = resource(prod, `${logicalName(name)}LambdaFunction`).Properties!.Environment.Variables;
    if (needsSecret) {
      assert.deepEqual(ssm.map((statement) => [actionsOf(statement), statement.Resource]), [[["ssm:GetParameter"], parameterARN]]);
      assert.equal(variables.GITLAB_SECRET_PARAMETER, "/gitlab-jit/prod/gitlab-secret");
    } else {
      assert.deepEqual(ssm, []);
      assert.equal(variables.GITLAB_SECRET_PARAMETER, undefined);
    }
    assert.equal(variables.GITLAB_SECRET, undefined, "the secret itself is never configuration");
    assert.deepEqual(variables.TABLE_NAME, { Ref: "Table" });
    assert.deepEqual(variables.PUBLIC_URL, { "Fn::If": ["HasPublicURL", "", { "Fn::GetAtt": ["HttpApi", "ApiEndpoint"] }] });
  }
});

test("keeps the GitLab secret out of everything a deploy uploads", () => {
  for (const service of [dev, prod]) {
    assert.ok(!service.templateText.includes(secretCanary), "template");
    assert.ok(!service.stateText.includes(secretCanary), "serverless-state.json");
    for (const fn of service.functions) assert.ok(!fn.bundle.includes(secretCanary), fn.name);
  }
});

test("defines the table from infra/table.json: on demand, PITR, SSE, TTL on the expiry attribute", () => {
  for (const service of [dev, prod]) {
    const properties = resource(service, "Table").Properties!;
    assert.equal(properties.BillingMode, "PAY_PER_REQUEST");
    assert.deepEqual(properties.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
    assert.deepEqual(properties.SSESpecification, { SSEEnabled: true });
    assert.deepEqual(properties.TimeToLiveSpecification, { AttributeName: "expiresAt", Enabled: true });
    assert.deepEqual(properties.KeySchema, table.KeySchema);
    assert.deepEqual(properties.AttributeDefinitions, table.AttributeDefinitions);
    assert.deepEqual(properties.GlobalSecondaryIndexes, table.GlobalSecondaryIndexes);
  }
  assert.equal(resource(dev, "Table").Properties!.TableName, "gitlab-jit-dev");
  assert.equal(resource(prod, "Table").Properties!.TableName, "gitlab-jit-prod");
});

test("retains and protects the production table, and lets a development stage delete its own", () => {
  const prodTable = resource(prod, "Table");
  assert.equal(prodTable.DeletionPolicy, "Retain");
  assert.equal(prodTable.UpdateReplacePolicy, "Retain");
  assert.equal(prodTable.Properties!.DeletionProtectionEnabled, true);
  const devTable = resource(dev, "Table");
  assert.equal(devTable.DeletionPolicy, "Delete");
  assert.equal(devTable.UpdateReplacePolicy, "Delete");
  assert.equal(devTable.Properties!.DeletionProtectionEnabled, false);
});

test("throttles every route at the API stage", () => {
  for (const service of [dev, prod]) {
    const settings = resource(service, "HttpApiStage").Properties!.DefaultRouteSettings;
    assert.equal(settings.ThrottlingRateLimit, 50);
    assert.equal(settings.ThrottlingBurstLimit, 100);
  }
});

test("each bundle loads in a fresh process without node_modules, as on Lambda", () => {
  // Lazily imported SDK parts are left out of the bundle; importing must not need them.
  const root = mkdtempSync(join(tmpdir(), "gitlab-jit-bundle-"));
  try {
    for (const fn of prod.functions) {
      const path = join(root, fn.bundlePath);
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, fn.bundle);
      const result = spawnSync(process.execPath, ["--input-type=module", "-e", `const m = await import(${JSON.stringify(path)}); if (typeof m.handler !== "function") process.exit(3);`], {
        cwd: root,
        env: { PATH: process.env.PATH, AWS_REGION: "eu-west-1", TABLE_NAME: "gitlab-jit-prod", PUBLIC_URL: "https://example.com" },
        encoding: "utf8",
      });
      assert.equal(result.status, 0, `${fn.name}: ${result.stderr}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
