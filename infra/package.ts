// Runs `osls package` for a stage into a folder of its own and reads back what a deploy would
// upload: the CloudFormation template, the service state and each function's zip. Used by the
// benchmark and the packaging test; needs no AWS credentials.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { readZip } from "./zip.js";

export interface PackagedFunction {
  name: string;
  zipBytes: number;
  /** The bundle's path inside the zip, e.g. functions/auth.mjs. */
  bundlePath: string;
  bundle: Buffer;
}

export interface PackagedService {
  directory: string;
  templateText: string;
  template: CloudFormationTemplate;
  /** serverless-state.json, uploaded with every deploy. */
  stateText: string;
  functions: PackagedFunction[];
}

export interface CloudFormationResource {
  Type: string;
  Properties?: Record<string, any>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string | string[];
}

export interface CloudFormationTemplate {
  Resources: Record<string, CloudFormationResource>;
  Conditions?: Record<string, unknown>;
  Outputs?: Record<string, unknown>;
}

export async function packageService(stage: string, directory: string, env: NodeJS.ProcessEnv = {}): Promise<PackagedService> {
  // Its own esbuild work folder, so packaging can run while `npm start` builds.
  const workFolder = `.esbuild/package-${randomBytes(4).toString("hex")}`;
  const child = spawn(process.execPath, ["node_modules/osls/bin/serverless.js", "package", "--stage", stage, "--package", directory], {
    env: { ...process.env, ...env, ESBUILD_WORK_FOLDER: workFolder, SLS_TELEMETRY_DISABLED: "1", SLS_NOTIFICATIONS_MODE: "off" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number>((resolve) => child.on("exit", (exitCode) => resolve(exitCode ?? 1)));
  rmSync(workFolder, { recursive: true, force: true });
  if (code !== 0) throw new Error(`osls package --stage ${stage} failed (${code}):\n${output}`);

  const templateText = readFileSync(join(directory, "cloudformation-template-update-stack.json"), "utf8");
  const functions = readdirSync(directory)
    .filter((file) => file.endsWith(".zip"))
    .sort()
    .map((file) => {
      const zipPath = join(directory, file);
      const entries = readZip(zipPath).filter((entry) => !entry.name.endsWith("/"));
      const bundle = entries.find((entry) => entry.name.endsWith(".mjs"));
      if (bundle === undefined || entries.length !== 1) throw new Error(`${file} should hold exactly one .mjs bundle, holds ${entries.map((entry) => entry.name).join(", ")}`);
      return { name: file.replace(/\.zip$/, ""), zipBytes: statSync(zipPath).size, bundlePath: bundle.name, bundle: bundle.data };
    });
  return {
    directory,
    templateText,
    template: JSON.parse(templateText),
    stateText: readFileSync(join(directory, "serverless-state.json"), "utf8"),
    functions,
  };
}
