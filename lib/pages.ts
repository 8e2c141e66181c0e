// Small server-rendered pages for the browser flow: refusals, errors, disabled sign-in.
import { generateSecretToken } from "./crypto.js";

export function escapeHTML(value: string): string {
  return value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

export interface Page {
  html: string;
  /** The nonce the page's inline style needs in the Content-Security-Policy. */
  styleNonce: string;
}

const style = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1f1f24}
main{max-width:34rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.35rem;margin-top:0}a{color:#1f5fbf}`;

export function messagePage(title: string, message: string, link: { href: string; label: string } = { href: "/", label: "Back to the start page" }): Page {
  const styleNonce = generateSecretToken(16);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHTML(title)} · gitlab-jit</title>
<style nonce="${styleNonce}">${style}</style></head>
<body><main><h1>${escapeHTML(title)}</h1><p>${escapeHTML(message)}</p>
<p><a href="${escapeHTML(link.href)}">${escapeHTML(link.label)}</a></p></main></body></html>`;
  return { html, styleNonce };
}
