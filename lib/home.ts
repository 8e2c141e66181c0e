// The start page and admin console shell. Signed out: a sign-in button. Signed in: who you are
// and your groups. Administrators: the console, which /assets/console.js builds in the page.
import { auditTypes } from "./audit.js";
import type { Principal } from "./auth.js";
import { consoleScriptURL } from "./console/assets.js";
import { consoleStyle } from "./console/style.js";
import { generateSecretToken } from "./crypto.js";
import { htmlResponse, pageCSP } from "./http.js";
import type { HTTPResponse } from "./http.js";
import { escapeHTML } from "./pages.js";

type Role = "anonymous" | "member" | "admin";

const consoleSections = [
  { route: "settings", label: "GitLab settings" },
  { route: "groups", label: "Groups" },
  { route: "users", label: "Users" },
  { route: "audit", label: "Audit log" },
  { route: "account", label: "Your account" },
];

function roleOf(principal: Principal | null): Role {
  if (principal === null) return "anonymous";
  return principal.permissions.includes("admin") ? "admin" : "member";
}

function headerBar(principal: Principal | null, role: Role): string {
  const nav =
    role === "admin"
      ? `<nav class="console-nav" aria-label="Console"><ul>${consoleSections
          .map((section) => `<li><a href="#/${section.route}" data-route="${section.route}">${section.label}</a></li>`)
          .join("")}</ul></nav>`
      : "";
  const who =
    principal === null
      ? ""
      : `<span class="account"><span class="who">Signed in as <strong>${escapeHTML(principal.user.login)}</strong></span><button type="button" id="sign-out">Sign out</button></span>`;
  return `<header class="bar"><a class="brand" href="/">gitlab-jit</a>${nav}${who}</header>`;
}

function mainContent(principal: Principal | null, role: Role): string {
  if (principal === null) {
    return `<div class="card"><h1>gitlab-jit</h1><p>Sign in with your GitLab account.</p>
<p><a class="button" href="/auth/gitlab/login">Sign in with GitLab</a></p></div>`;
  }
  if (role === "admin") {
    return `<p class="loading">Loading the console…</p><noscript><p>The administration console needs JavaScript.</p></noscript>`;
  }
  const { user, groups } = principal;
  const groupList = groups.length === 0 ? "<p>You are not in any group.</p>" : `<ul>${groups.map((name) => `<li>${escapeHTML(name)}</li>`).join("")}</ul>`;
  return `<h1>Signed in as ${escapeHTML(user.login)}</h1>
<dl class="facts"><dt>Name</dt><dd>${escapeHTML(user.name || "—")}</dd><dt>Email</dt><dd>${escapeHTML(user.email || "—")}</dd></dl>
<h2>Your groups</h2>${groupList}`;
}

export function homePage(principal: Principal | null): HTTPResponse {
  const nonce = generateSecretToken(16);
  const role = roleOf(principal);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>gitlab-jit</title>
<style nonce="${nonce}">${consoleStyle}</style>
<script src="${consoleScriptURL}" defer></script></head>
<body data-role="${role}"${role === "admin" ? ` data-audit-types="${auditTypes.join(" ")}"` : ""}><a class="skip" href="#main">Skip to main content</a>
${headerBar(principal, role)}
<main id="main" tabindex="-1">${mainContent(principal, role)}</main>
<div id="status" class="visually-hidden" role="status" aria-live="polite"></div>
</body></html>`;
  return htmlResponse(200, html, pageCSP(nonce, "'self'"));
}
