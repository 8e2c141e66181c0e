// The start page: a sign-in button, or who you are.
import type { Principal } from "./auth.js";
import { htmlResponse, pageCSP } from "./http.js";
import type { HTTPResponse } from "./http.js";
import { generateSecretToken } from "./crypto.js";
import { escapeHTML } from "./pages.js";

export function homePage(principal: Principal | null): HTTPResponse {
  const nonce = generateSecretToken(16);
  const body =
    principal === null
      ? `<h1>gitlab-jit</h1><p>Sign in with your GitLab account.</p><p><a class="button" href="/auth/gitlab/login">Sign in with GitLab</a></p>`
      : `<h1>Signed in as ${escapeHTML(principal.user.login)}</h1><p>${escapeHTML(principal.user.name)}</p>
<p>Groups: ${principal.groups.length === 0 ? "none" : principal.groups.map(escapeHTML).join(", ")}</p>`;
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>gitlab-jit</title><style nonce="${nonce}">body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:10vh auto;padding:0 1rem}
.button{display:inline-block;padding:.6rem 1.2rem;background:#fc6d26;color:#fff;border-radius:6px;text-decoration:none}</style></head>
<body><main>${body}</main></body></html>`;
  return htmlResponse(200, html, pageCSP(nonce));
}
