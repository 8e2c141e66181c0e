// Demo data for the GitLab emulator used by the local dev start (`npm start`).
// The users cover the cases the sign-in service must handle: a top-level group member,
// a subgroup member, a member of several unrelated groups, and a blocked account.
import type { EmulatorApplication, EmulatorUser } from "./gitlab-emulator.js";

/** The OAuth application as registered in the emulator; publicURL is the service's own origin. */
export function demoApplication(publicURL: string): EmulatorApplication {
  return {
    applicationId: "gitlab-jit-dev",
    secret: "dev-secret-not-for-production",
    redirectURIs: [`${publicURL.replace(/\/+$/, "")}/auth/gitlab/callback`],
  };
}

export const demoUsers: EmulatorUser[] = [
  { id: 1001, username: "ada", name: "Ada Lovelace", email: "ada@example.com", groups: ["acme"] },
  { id: 1002, username: "grace", name: "Grace Hopper", email: "grace@example.com", groups: ["acme/platform"] },
  { id: 1003, username: "linus", name: "Linus Torvalds", email: "linus@example.com", groups: ["oss", "acme/web"] },
  // Blocked but still in a group, so the service must check state rather than rely on memberships.
  {
    id: 1004,
    username: "margaret",
    name: "Margaret Hamilton",
    email: "margaret@example.com",
    state: "blocked",
    groups: ["acme/platform/sre"],
  },
];

export const demoGroups: string[] = ["acme", "acme/platform", "acme/platform/sre", "acme/web", "oss"];
