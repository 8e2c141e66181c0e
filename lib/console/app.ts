// The admin console's browser code. It is served as the text of this one function
// (see lib/console/assets.ts), so it must stay self-contained: no imports it uses at run time and
// no references to anything outside its body (type-only imports vanish from the text). It talks
// only to the public HTTP API with the session cookie.
import type { AuditEvent } from "../audit.js";
import type { Me } from "../auth.js";
import type { Group } from "../groups.js";
import type { MemberView as Member, UserView } from "../provisioning.js";
import type { PublicGitLabSettings as Settings } from "../settings.js";

export function consoleApp(): void {
  interface Problem {
    status: number;
    title?: string;
    detail?: string;
    errors?: { field: string; message: string }[];
  }
  interface Page<T> {
    items: T[];
    nextCursor: string | null;
  }
  type Child = Node | string | null | undefined | false | Child[];
  type Attributes = Record<string, string | boolean | number | null | undefined | ((event: Event) => void)>;

  class APIError extends Error {
    constructor(readonly problem: Problem) {
      super(problem.detail ?? problem.title ?? `The request failed (${problem.status}).`);
    }
  }

  const main = document.getElementById("main") as HTMLElement;
  const status = document.getElementById("status") as HTMLElement;
  const syncReason = "Synchronization is on: GitLab manages the memberships of GitLab-provisioned users. Change them in GitLab, or turn synchronization off.";
  // The page lists the event types, so they are defined once, on the server.
  const auditTypeNames = (document.body.dataset.auditTypes ?? "").split(" ").filter((name) => name !== "");
  let idCounter = 0;

  // ---- DOM helpers

  function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (typeof value === "function") element.addEventListener(name.slice(2).toLowerCase(), value);
      else if (name === "class") element.className = String(value);
      else if (value === true) element.setAttribute(name, "");
      else element.setAttribute(name, String(value));
    }
    append(element, children);
    return element;
  }

  function append(parent: Node, children: Child[]): void {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(parent, child);
      else parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }

  function uniqueId(prefix: string): string {
    idCounter += 1;
    return `${prefix}-${idCounter}`;
  }

  /** A labelled input with an optional hint, wired with aria-describedby. */
  function field(label: string, input: HTMLElement, hint?: Child): HTMLElement {
    const id = input.id || uniqueId("field");
    input.id = id;
    const hintId = `${id}-hint`;
    const errorId = `${id}-error`;
    const describedBy = [hint ? hintId : "", errorId].filter((value) => value !== "").join(" ");
    input.setAttribute("aria-describedby", describedBy);
    return h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      hint ? h("p", { class: "hint", id: hintId }, hint) : null,
      input,
      h("p", { class: "field-error", id: errorId, hidden: true }),
    );
  }

  function checkbox(label: string, input: HTMLInputElement, hint?: Child): HTMLElement {
    const id = input.id || uniqueId("check");
    input.id = id;
    input.type = "checkbox";
    const hintId = `${id}-hint`;
    const errorId = `${id}-error`;
    input.setAttribute("aria-describedby", hint ? `${hintId} ${errorId}` : errorId);
    return h(
      "div",
      { class: "field check" },
      input,
      h("label", { for: id }, label),
      hint ? h("p", { class: "hint", id: hintId }, hint) : null,
      h("p", { class: "field-error", id: errorId, hidden: true }),
    );
  }

  function button(label: string, onClick: (event: Event) => void, attributes: Attributes = {}): HTMLButtonElement {
    return h("button", { type: "button", ...attributes, onclick: onClick }, label);
  }

  /**
   * A table whose rows become labelled cards on narrow screens: each cell gets its column's
   * heading as `data-label` whenever rows are added, however they are added.
   */
  function table(caption: string, headings: string[], body: HTMLElement): HTMLElement {
    const label = (): void => {
      for (const row of Array.from(body.children)) {
        Array.from(row.children).forEach((cell, index) => {
          if (!cell.hasAttribute("colspan")) cell.setAttribute("data-label", headings[index] ?? "");
        });
      }
    };
    new MutationObserver(label).observe(body, { childList: true });
    label();
    return h(
      "div",
      { class: "table-wrap", role: "region", "aria-label": caption, tabindex: 0 },
      h("table", {}, h("caption", { class: "visually-hidden" }, caption), h("thead", {}, h("tr", {}, headings.map((heading) => h("th", { scope: "col" }, heading)))), body),
    );
  }

  interface PagedTable {
    /** The error box, the table and its "load more" button, in page order. */
    elements: HTMLElement[];
    body: HTMLElement;
    errors: HTMLElement;
    load(): Promise<void>;
    /** Puts a new row first, in place of the "nothing here" row. */
    prepend(row: HTMLElement): void;
  }

  /** A table filled page by page from a listing of the API (`{items, nextCursor}`). */
  function pagedTable<T>(options: {
    caption: string;
    headings: string[];
    path: string;
    query?: Record<string, string>;
    empty: string;
    moreLabel: string;
    rows: (items: T[]) => HTMLElement[] | Promise<HTMLElement[]>;
  }): PagedTable {
    const body = h("tbody", {});
    const errors = errorBox();
    let cursor: string | null = null;
    const more = button(options.moreLabel, () => void busy(more, load), { hidden: true });
    async function load(): Promise<void> {
      try {
        const query = new URLSearchParams({ limit: "50", ...options.query });
        if (cursor !== null) query.set("cursor", cursor);
        const { body: page } = await api<Page<T>>("GET", `${options.path}?${query}`);
        append(body, await options.rows(page.items));
        cursor = page.nextCursor;
        more.hidden = cursor === null;
        if (body.children.length === 0) body.appendChild(h("tr", {}, h("td", { colspan: options.headings.length }, options.empty)));
      } catch (error) {
        showError(errors, error);
      }
    }
    return {
      elements: [errors, table(options.caption, options.headings, body), more],
      body,
      errors,
      load,
      prepend(row) {
        body.querySelector("td[colspan]")?.parentElement?.remove();
        body.prepend(row);
      },
    };
  }

  function time(iso: string | null): Child {
    if (iso === null) return "never";
    const date = new Date(iso);
    return h("time", { datetime: iso }, Number.isNaN(date.getTime()) ? iso : date.toLocaleString());
  }

  function announce(message: string): void {
    // Clearing first makes screen readers repeat an identical message.
    status.textContent = "";
    window.setTimeout(() => {
      status.textContent = message;
    }, 50);
  }

  /**
   * Shows a failed action in its alert box. With the form, each field the API names is marked
   * invalid and gets its message beside it, and the summary links to it by the field's label.
   */
  function showError(box: HTMLElement, error: unknown, form?: HTMLFormElement): void {
    box.hidden = false;
    box.replaceChildren(h("p", {}, errorMessage(error)));
    const problem = error instanceof APIError ? error.problem : null;
    const items = (problem?.errors ?? []).map((each) => {
      const input = form?.elements.namedItem(each.field);
      if (!(input instanceof HTMLElement) || input.id === "") return h("li", {}, `${each.field} ${each.message}`);
      const label = document.querySelector(`label[for="${input.id}"]`)?.textContent ?? each.field;
      input.setAttribute("aria-invalid", "true");
      const message = document.getElementById(`${input.id}-error`);
      if (message !== null) {
        message.hidden = false;
        message.textContent = `${label} ${each.message}.`;
      }
      return h("li", {}, h("a", { href: `#${input.id}`, onclick: (event: Event) => (event.preventDefault(), input.focus()) }, label), ` ${each.message}.`);
    });
    if (items.length > 0) box.appendChild(h("ul", {}, items));
    if (form !== undefined) box.focus();
  }

  function clearError(box: HTMLElement, form?: HTMLFormElement): void {
    box.hidden = true;
    box.replaceChildren();
    for (const input of Array.from(form?.querySelectorAll("[aria-invalid]") ?? [])) input.removeAttribute("aria-invalid");
    for (const message of Array.from(form?.querySelectorAll<HTMLElement>(".field-error") ?? [])) {
      message.hidden = true;
      message.textContent = "";
    }
  }

  function errorBox(): HTMLElement {
    return h("div", { class: "alert", role: "alert", tabindex: -1, hidden: true });
  }

  function errorMessage(error: unknown): string {
    if (error instanceof APIError) return error.message;
    if (error instanceof TypeError) return "The service could not be reached. Check your connection and try again.";
    return error instanceof Error ? error.message : String(error);
  }

  /** Disables a button while its action runs, so a double click sends one request. */
  async function busy(control: HTMLButtonElement, action: () => Promise<void>): Promise<void> {
    control.disabled = true;
    control.setAttribute("aria-busy", "true");
    try {
      await action();
    } finally {
      control.disabled = false;
      control.removeAttribute("aria-busy");
    }
  }

  /** Submits a form through `action`, one request at a time; a failure shows in `errors` and at its fields. */
  function onSubmit(form: HTMLFormElement, submit: HTMLButtonElement, errors: HTMLElement, action: () => Promise<void>): void {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void busy(submit, async () => {
        clearError(errors, form);
        try {
          await action();
        } catch (error) {
          showError(errors, error, form);
        }
      });
    });
  }

  // ---- HTTP

  async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ body: T; response: Response }> {
    const init: RequestInit = { method, credentials: "same-origin", headers: { accept: "application/json", ...headers } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let parsed: unknown = null;
    if (text !== "") {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (!response.ok) {
      const problem: Problem = typeof parsed === "object" && parsed !== null ? { ...(parsed as Problem), status: response.status } : { status: response.status };
      if (response.status === 401) sessionEnded();
      throw new APIError(problem);
    }
    return { body: parsed as T, response };
  }

  function enc(value: string): string {
    return encodeURIComponent(value);
  }

  function sessionEnded(): void {
    main.replaceChildren(
      h("h1", { tabindex: -1 }, "Your session has ended"),
      h("p", {}, "Sign in again to continue."),
      h("p", {}, h("a", { class: "button", href: "/auth/gitlab/login" }, "Sign in with GitLab")),
    );
  }

  // ---- Sign out (every signed-in page has the button)

  const signOut = document.getElementById("sign-out") as HTMLButtonElement | null;
  signOut?.addEventListener("click", () => {
    void busy(signOut, async () => {
      try {
        await fetch("/auth/logout", { method: "POST", credentials: "same-origin" });
      } finally {
        window.location.assign("/");
      }
    });
  });

  // The skip link must not become a console route.
  document.querySelector<HTMLAnchorElement>("a.skip")?.addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });

  if (document.body.dataset.role !== "admin") return;

  // ---- Routing: #/settings, #/groups, #/groups/<id>, #/users, #/users/<login>, #/audit?type=&login=, #/account

  interface Route {
    name: string;
    parameter: string | null;
    query: URLSearchParams;
  }

  function parseRoute(): Route {
    const hash = window.location.hash.replace(/^#\/?/, "");
    const [path = "", search = ""] = hash.split("?");
    const [name = "", ...rest] = path.split("/");
    let parameter: string | null = null;
    if (rest.length > 0) {
      try {
        parameter = decodeURIComponent(rest.join("/"));
      } catch {
        parameter = null;
      }
    }
    return { name: name === "" ? "settings" : name, parameter, query: new URLSearchParams(search) };
  }

  let renderCount = 0;

  async function render(): Promise<void> {
    const route = parseRoute();
    const current = ++renderCount;
    for (const link of Array.from(document.querySelectorAll<HTMLAnchorElement>("nav.console-nav a"))) {
      if (link.dataset.route === route.name) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    main.replaceChildren(h("p", { class: "loading" }, "Loading…"));
    let content: HTMLElement[];
    try {
      if (route.name === "groups" && route.parameter !== null) content = await groupView(route.parameter);
      else if (route.name === "groups") content = await groupsView();
      else if (route.name === "users" && route.parameter !== null) content = await userView(route.parameter);
      else if (route.name === "users") content = await usersView(route.query.get("q") ?? "");
      else if (route.name === "audit") content = await auditView(route.query.get("type") ?? "", route.query.get("login") ?? "");
      else if (route.name === "account") content = await accountView();
      else content = await settingsView();
    } catch (error) {
      if (error instanceof APIError && error.problem.status === 401) return;
      content = [h("h1", {}, "Something went wrong"), h("div", { class: "alert", role: "alert" }, h("p", {}, errorMessage(error)))];
    }
    // A newer navigation won the race.
    if (current !== renderCount) return;
    main.replaceChildren(...content);
    const heading = main.querySelector("h1");
    if (heading !== null) {
      heading.setAttribute("tabindex", "-1");
      document.title = `${heading.textContent ?? ""} · gitlab-jit`;
      if (navigated) heading.focus();
    }
  }

  let navigated = false;
  window.addEventListener("hashchange", () => {
    navigated = true;
    void render();
  });

  function go(hash: string): void {
    if (window.location.hash === hash) void render();
    else window.location.hash = hash;
  }

  async function readSettings(): Promise<{ settings: Settings; etag: string }> {
    const { body, response } = await api<Settings>("GET", "/api/settings/gitlab");
    return { settings: body, etag: response.headers.get("etag") ?? "*" };
  }

  // ---- Account

  async function accountView(): Promise<HTMLElement[]> {
    const { body: me } = await api<Me>("GET", "/api/me");
    return [
      h("h1", {}, "Your account"),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Login"),
        h("dd", {}, me.login),
        h("dt", {}, "Name"),
        h("dd", {}, me.name || "—"),
        h("dt", {}, "Email"),
        h("dd", {}, me.email || "—"),
        h("dt", {}, "Permissions"),
        h("dd", {}, me.permissions.length > 0 ? me.permissions.join(", ") : "none"),
      ),
      h("h2", {}, "Your groups"),
      me.groups.length > 0 ? h("ul", {}, me.groups.map((name) => h("li", {}, name))) : h("p", {}, "You are not in any group."),
    ];
  }

  // ---- GitLab settings

  async function settingsView(): Promise<HTMLElement[]> {
    let { settings, etag } = await readSettings();
    const errors = errorBox();
    const enabled = h("input", { name: "enabled" });
    const url = h("input", { name: "url", type: "url", autocomplete: "url", required: true, spellcheck: "false" });
    const applicationId = h("input", { name: "applicationId", type: "text", autocomplete: "off", spellcheck: "false" });
    const secret = h("input", { name: "secret", type: "password", autocomplete: "new-password", spellcheck: "false" });
    const synchronizeGroups = h("input", { name: "synchronizeGroups" });
    const allowUsersToSignUp = h("input", { name: "allowUsersToSignUp" });
    const allowedGroups = h("textarea", { name: "allowedGroups", rows: 4, spellcheck: "false" });
    const secretHint = h("span", {});

    function fill(next: Settings): void {
      enabled.checked = next.enabled;
      url.value = next.url;
      applicationId.value = next.applicationId;
      secret.value = "";
      synchronizeGroups.checked = next.synchronizeGroups;
      allowUsersToSignUp.checked = next.allowUsersToSignUp;
      allowedGroups.value = next.allowedGroups.join("\n");
      secretHint.textContent = next.secretConfigured
        ? "A secret is saved. It is never shown; leave this empty to keep it, or type a new one to replace it."
        : "No secret is saved yet.";
    }

    const save = h("button", { type: "submit", class: "primary" }, "Save");
    const form = h(
      "form",
      { novalidate: true, "aria-labelledby": "settings-heading" },
      errors,
      checkbox("Enabled", enabled, "Users can sign in with their GitLab account. Needs an application ID and a secret."),
      field("GitLab URL", url, "The address of your GitLab, for example https://gitlab.com or https://gitlab.example.com."),
      field("Application ID", applicationId, "From the GitLab application (Admin > Applications, or your group's or profile's Applications)."),
      field("Secret", secret, secretHint),
      h(
        "fieldset",
        {},
        h("legend", {}, "Provisioning"),
        checkbox(
          "Synchronize user groups",
          synchronizeGroups,
          h(
            "span",
            { class: "warning" },
            h("strong", {}, "Warning: "),
            "if you enable group synchronization, you cannot manage group memberships manually, and existing manually added group memberships of GitLab-provisioned users are reset during synchronization (at their next sign-in). Create a group here for each GitLab group to synchronize, named after its full path.",
          ),
        ),
        checkbox(
          "Allow new users to sign up",
          allowUsersToSignUp,
          "When off, only existing users and the initial administrators can sign in. Create accounts on the Users page.",
        ),
      ),
      field("Allowed groups", allowedGroups, "One GitLab group full path per line, for example my-group/sub-group. Only their members (and members of their subgroups) may sign in. Leave empty to allow everyone."),
      h("div", { class: "actions" }, save),
    );
    onSubmit(form, save, errors, async () => {
      const change: Record<string, unknown> = {
        enabled: enabled.checked,
        url: url.value.trim(),
        applicationId: applicationId.value.trim(),
        synchronizeGroups: synchronizeGroups.checked,
        allowUsersToSignUp: allowUsersToSignUp.checked,
        allowedGroups: allowedGroups.value
          .split("\n")
          .map((line) => line.trim())
          .filter((line) => line !== ""),
      };
      if (secret.value !== "") change.secret = secret.value;
      try {
        const { body, response } = await api<Settings>("PATCH", "/api/settings/gitlab", change, { "if-match": etag });
        settings = body;
        etag = response.headers.get("etag") ?? "*";
        fill(settings);
        announce("Settings saved.");
      } catch (error) {
        if (!(error instanceof APIError && error.problem.status === 412)) throw error;
        // Someone else saved meanwhile: never overwrite their change blindly.
        showError(errors, error);
        errors.appendChild(button("Reload the settings", () => void render()));
        errors.focus();
      }
    });
    fill(settings);
    return [h("h1", { id: "settings-heading" }, "GitLab authentication"), form];
  }

  // ---- Groups

  async function groupsView(): Promise<HTMLElement[]> {
    const createErrors = errorBox();
    const name = h("input", { name: "name", type: "text", required: true, autocomplete: "off", spellcheck: "false" });
    const description = h("input", { name: "description", type: "text", autocomplete: "off" });
    const admin = h("input", { name: "admin" });
    const create = h("button", { type: "submit", class: "primary" }, "Create group");
    const list = pagedTable<Group>({
      caption: "Groups",
      headings: ["Name", "Description", "Permissions", "Actions"],
      path: "/api/groups",
      empty: "No groups yet.",
      moreLabel: "Load more groups",
      rows: (items) => items.map(row),
    });

    function row(group: Group): HTMLElement {
      const remove = button(
        "Delete",
        () => {
          if (!window.confirm(`Delete the group ${group.name}? Its memberships are removed too.`)) return;
          void busy(remove, async () => {
            try {
              await api("DELETE", `/api/groups/${enc(group.id)}`);
              tr.remove();
              announce(`Group ${group.name} deleted.`);
            } catch (error) {
              showError(list.errors, error);
            }
          });
        },
        { class: "danger", "aria-label": `Delete group ${group.name}` },
      );
      const tr = h(
        "tr",
        {},
        h("td", {}, h("a", { href: `#/groups/${enc(group.id)}` }, group.name)),
        h("td", {}, group.description || "—"),
        h("td", {}, group.permissions.length > 0 ? group.permissions.join(", ") : "—"),
        h("td", { class: "row-actions" }, h("a", { href: `#/groups/${enc(group.id)}`, "aria-label": `Members of ${group.name}` }, "Members"), remove),
      );
      return tr;
    }

    const form = h(
      "form",
      { novalidate: true, "aria-labelledby": "create-group-heading" },
      createErrors,
      field("Name", name, "The GitLab group's full path, as in its URL: for example my-group or my-group/sub-group. Case-sensitive: it must match GitLab exactly for synchronization."),
      field("Description (optional)", description),
      checkbox("Members can administer the system", admin, "Gives every member the Administer System permission."),
      h("div", { class: "actions" }, create),
    );
    onSubmit(form, create, createErrors, async () => {
      const { body } = await api<Group>("POST", "/api/groups", { name: name.value.trim(), description: description.value.trim(), permissions: admin.checked ? ["admin"] : [] });
      name.value = "";
      description.value = "";
      admin.checked = false;
      list.prepend(row(body));
      announce(`Group ${body.name} created.`);
    });

    await list.load();
    return [
      h("h1", {}, "Groups"),
      h("section", { "aria-labelledby": "create-group-heading" }, h("h2", { id: "create-group-heading" }, "Create a group"), form),
      h(
        "section",
        { "aria-labelledby": "group-list-heading" },
        h("h2", { id: "group-list-heading" }, "All groups"),
        ...list.elements,
      ),
    ];
  }

  async function groupView(id: string): Promise<HTMLElement[]> {
    const [{ body: group }, { settings }] = await Promise.all([api<Group>("GET", `/api/groups/${enc(id)}`), readSettings()]);
    const addErrors = errorBox();
    const list = pagedTable<Member>({
      caption: `Members of ${group.name}`,
      headings: ["Login", "Membership", "Account", "Actions"],
      path: `/api/groups/${enc(group.id)}/members`,
      empty: "No members yet.",
      moreLabel: "Load more members",
      rows: async (members) => {
        const users = await describeMembers(members);
        return members.map((member, index) => row(member, users[index] ?? null));
      },
    });

    function row(member: Member, user: UserView | null): HTMLElement {
      const managed = settings.synchronizeGroups && user?.source === "gitlab";
      const reasonId = uniqueId("reason");
      const remove = button(
        "Remove",
        () => {
          void busy(remove, async () => {
            try {
              await api("DELETE", `/api/groups/${enc(group.id)}/members/${enc(member.login)}`);
              tr.remove();
              announce(`${member.login} removed from ${group.name}.`);
            } catch (error) {
              showError(list.errors, error);
            }
          });
        },
        { class: "danger", "aria-label": `Remove ${member.login} from ${group.name}`, disabled: managed, "aria-describedby": managed ? reasonId : null },
      );
      const tr = h(
        "tr",
        {},
        h("td", {}, h("a", { href: `#/users/${enc(member.login)}` }, member.login)),
        h("td", {}, member.source === "gitlab" ? "GitLab synchronization" : "Added manually"),
        h("td", {}, user === null ? "—" : user.source === "gitlab" ? "GitLab" : "Created here"),
        h("td", { class: "row-actions" }, remove, managed ? h("p", { class: "reason", id: reasonId }, syncReason) : null),
      );
      return tr;
    }

    async function describeMembers(members: Member[]): Promise<(UserView | null)[]> {
      return Promise.all(
        members.map((member) =>
          api<UserView>("GET", `/api/users/${enc(member.login)}`).then(
            ({ body }) => body,
            () => null,
          ),
        ),
      );
    }

    const login = h("input", { name: "login", type: "text", required: true, autocomplete: "off", spellcheck: "false", autocapitalize: "none" });
    const add = h("button", { type: "submit", class: "primary" }, "Add member");
    const form = h(
      "form",
      { novalidate: true, "aria-labelledby": "add-member-heading" },
      addErrors,
      field("Login", login, settings.synchronizeGroups ? "Users created here can be added. " + syncReason : "The user's login."),
      h("div", { class: "actions" }, add),
    );
    onSubmit(form, add, addErrors, async () => {
      const { body } = await api<Member>("PUT", `/api/groups/${enc(group.id)}/members/${enc(login.value.trim())}`);
      const user = (await describeMembers([body]))[0] ?? null;
      const listed = Array.from(list.body.querySelectorAll("tr")).some((tr) => tr.firstElementChild?.textContent === body.login);
      if (!listed) list.prepend(row(body, user));
      login.value = "";
      announce(`${body.login} added to ${group.name}.`);
    });

    await list.load();
    return [
      h("p", { class: "breadcrumb" }, h("a", { href: "#/groups" }, "Groups")),
      h("h1", {}, `Group ${group.name}`),
      h("p", {}, group.description || "No description."),
      h("p", {}, `Permissions: ${group.permissions.length > 0 ? group.permissions.join(", ") : "none"}`),
      settings.synchronizeGroups ? h("p", { class: "note" }, "Group synchronization is on: GitLab-provisioned users join and leave this group at sign-in, following their membership of the GitLab group ", h("code", {}, group.name), ".") : null,
      h("section", { "aria-labelledby": "members-heading" }, h("h2", { id: "members-heading" }, "Members"), ...list.elements),
      h("section", { "aria-labelledby": "add-member-heading" }, h("h2", { id: "add-member-heading" }, "Add a member"), form),
    ].filter((element): element is HTMLElement => element !== null);
  }

  // ---- Users

  function activeToggle(user: UserView, onChange: (next: UserView) => void, errors: HTMLElement): HTMLButtonElement {
    const control = button(
      user.active ? "Deactivate" : "Reactivate",
      () => {
        if (user.active && !window.confirm(`Deactivate ${user.login}? Their sessions and API tokens end at once.`)) return;
        void busy(control, async () => {
          try {
            const { body } = await api<UserView>("PATCH", `/api/users/${enc(user.login)}`, { active: !user.active });
            announce(`${body.login} ${body.active ? "reactivated" : "deactivated"}.`);
            onChange(body);
          } catch (error) {
            showError(errors, error);
          }
        });
      },
      { class: user.active ? "danger" : "", "aria-label": `${user.active ? "Deactivate" : "Reactivate"} ${user.login}` },
    );
    return control;
  }

  function sourceLabel(user: UserView): string {
    return user.source === "gitlab" ? "GitLab" : user.gitlabId === null ? "Created here (not linked yet)" : "Created here, linked to GitLab";
  }

  async function usersView(q: string): Promise<HTMLElement[]> {
    const list = pagedTable<UserView>({
      caption: "Users",
      headings: ["Login", "Name", "Email", "Source", "Status", "Groups", "Actions"],
      path: "/api/users",
      query: q === "" ? {} : { q },
      empty: q === "" ? "No users yet." : `No login starts with “${q}”.`,
      moreLabel: "Load more users",
      rows: (items) => items.map(row),
    });

    function row(user: UserView): HTMLElement {
      const tr = h(
        "tr",
        {},
        h("td", {}, h("a", { href: `#/users/${enc(user.login)}` }, user.login)),
        h("td", {}, user.name || "—"),
        h("td", {}, user.email || "—"),
        h("td", {}, sourceLabel(user)),
        h("td", {}, user.active ? "Active" : h("strong", {}, "Deactivated")),
        h("td", {}, user.groups.length > 0 ? user.groups.join(", ") : "—"),
        h(
          "td",
          { class: "row-actions" },
          activeToggle(user, (next) => tr.replaceWith(row(next)), list.errors),
        ),
      );
      return tr;
    }

    const search = h("input", { name: "q", type: "search", value: q, autocomplete: "off", spellcheck: "false", autocapitalize: "none" });
    const searchForm = h("form", { role: "search", class: "inline" }, field("Search by login", search, "Logins that start with this text."), h("div", { class: "actions" }, h("button", { type: "submit" }, "Search")));
    searchForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = search.value.trim();
      go(value === "" ? "#/users" : `#/users?q=${enc(value)}`);
    });

    const createErrors = errorBox();
    const login = h("input", { name: "login", type: "text", required: true, autocomplete: "off", spellcheck: "false", autocapitalize: "none" });
    const name = h("input", { name: "name", type: "text", autocomplete: "off" });
    const email = h("input", { name: "email", type: "email", autocomplete: "off", spellcheck: "false" });
    const admin = h("input", { name: "admin" });
    const create = h("button", { type: "submit", class: "primary" }, "Create user");
    const createForm = h(
      "form",
      { novalidate: true, "aria-labelledby": "create-user-heading" },
      createErrors,
      field("Login", login, "Their GitLab username. The account is linked to GitLab when they first sign in, even while sign-up is blocked."),
      field("Name (optional)", name),
      field("Email (optional)", email),
      checkbox("Administer System", admin),
      h("div", { class: "actions" }, create),
    );
    onSubmit(createForm, create, createErrors, async () => {
      const { body } = await api<UserView>("POST", "/api/users", {
        login: login.value.trim(),
        name: name.value.trim(),
        email: email.value.trim(),
        permissions: admin.checked ? ["admin"] : [],
      });
      for (const input of [login, name, email]) input.value = "";
      admin.checked = false;
      list.prepend(row(body));
      announce(`User ${body.login} created.`);
    });

    await list.load();
    return [
      h("h1", {}, "Users"),
      searchForm,
      h(
        "section",
        { "aria-labelledby": "user-list-heading" },
        h("h2", { id: "user-list-heading" }, q === "" ? "All users" : `Users whose login starts with “${q}”`),
        ...list.elements,
      ),
      h("section", { "aria-labelledby": "create-user-heading" }, h("h2", { id: "create-user-heading" }, "Create an unlinked user"), createForm),
    ];
  }

  /** The id of the group with exactly this name: names sort first among those they prefix. */
  async function findGroupByName(name: string): Promise<Group | null> {
    const { body } = await api<Page<Group>>("GET", `/api/groups?${new URLSearchParams({ q: name, limit: "1" })}`);
    const group = body.items[0];
    return group !== undefined && group.name === name ? group : null;
  }

  async function userView(login: string): Promise<HTMLElement[]> {
    const [{ body: user }, { settings }, { body: groupPage }] = await Promise.all([
      api<UserView>("GET", `/api/users/${enc(login)}`),
      readSettings(),
      api<Page<Group>>("GET", "/api/groups?limit=100"),
    ]);
    const managed = settings.synchronizeGroups && user.source === "gitlab";
    const errors = errorBox();
    const reasonId = uniqueId("reason");

    function groupRow(name: string): HTMLElement {
      const remove = button(
        "Remove",
        () => {
          void busy(remove, async () => {
            clearError(errors);
            try {
              const group = await findGroupByName(name);
              if (group === null) throw new Error(`The group ${name} no longer exists.`);
              await api("DELETE", `/api/groups/${enc(group.id)}/members/${enc(user.login)}`);
              li.remove();
              announce(`${user.login} removed from ${name}.`);
            } catch (error) {
              showError(errors, error);
            }
          });
        },
        { class: "danger", "aria-label": `Remove ${user.login} from ${name}`, disabled: managed, "aria-describedby": managed ? reasonId : null },
      );
      const li = h("li", { class: "with-action" }, h("span", {}, name), remove);
      return li;
    }

    const list = h("ul", { class: "plain" }, user.groups.map(groupRow));
    const listId = uniqueId("group-names");
    const groupName = h("input", { id: uniqueId("group"), name: "group", type: "text", list: listId, autocomplete: "off", spellcheck: "false", disabled: managed, "aria-describedby": managed ? reasonId : null });
    const add = h("button", { type: "submit", disabled: managed }, "Add to group");
    const addForm = h(
      "form",
      { novalidate: true, class: "inline", "aria-labelledby": "user-groups-heading" },
      h("div", { class: "field" }, h("label", { for: groupName.id }, "Group name"), groupName),
      h("datalist", { id: listId }, groupPage.items.map((group) => h("option", { value: group.name }))),
      h("div", { class: "actions" }, add),
    );
    onSubmit(addForm, add, errors, async () => {
      const name = groupName.value.trim();
      const group = await findGroupByName(name);
      if (group === null) throw new Error(`There is no group named ${name}. Group names are case-sensitive.`);
      await api("PUT", `/api/groups/${enc(group.id)}/members/${enc(user.login)}`);
      if (!user.groups.includes(group.name)) {
        user.groups.push(group.name);
        list.appendChild(groupRow(group.name));
      }
      groupName.value = "";
      announce(`${user.login} added to ${group.name}.`);
    });

    const profileErrors = errorBox();
    const toggleSlot = h("p", {});
    const statusValue = h("dd", {}, user.active ? "Active" : "Deactivated");
    function placeToggle(current: UserView): void {
      statusValue.textContent = current.active ? "Active" : "Deactivated";
      toggleSlot.replaceChildren(activeToggle(current, placeToggle, profileErrors));
    }
    placeToggle(user);

    return [
      h("p", { class: "breadcrumb" }, h("a", { href: "#/users" }, "Users")),
      h("h1", {}, `User ${user.login}`),
      profileErrors,
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Name"),
        h("dd", {}, user.name || "—"),
        h("dt", {}, "Email"),
        h("dd", {}, user.email || "—"),
        h("dt", {}, "Source"),
        h("dd", {}, sourceLabel(user)),
        h("dt", {}, "GitLab id"),
        h("dd", {}, user.gitlabId === null ? "—" : String(user.gitlabId)),
        h("dt", {}, "Status"),
        statusValue,
        h("dt", {}, "Permissions"),
        h("dd", {}, user.permissions.length > 0 ? user.permissions.join(", ") : "none (groups may add some)"),
        h("dt", {}, "Created"),
        h("dd", {}, time(user.createdAt)),
        h("dt", {}, "Last sign-in"),
        h("dd", {}, time(user.lastSignInAt)),
      ),
      toggleSlot,
      h(
        "section",
        { "aria-labelledby": "user-groups-heading" },
        h("h2", { id: "user-groups-heading" }, "Groups"),
        managed ? h("p", { class: "note", id: reasonId }, syncReason) : null,
        errors,
        user.groups.length === 0 ? h("p", {}, "Not in any group.") : null,
        list,
        addForm,
      ),
      h("p", {}, h("a", { href: `#/audit?login=${enc(user.login)}` }, `Audit log for ${user.login}`)),
    ];
  }

  // ---- Audit log

  function actorLabel(event: AuditEvent): string {
    if (event.actor.kind === "gitlab") return "GitLab (at sign-in)";
    if (event.actor.kind === "token") return `${event.actor.login ?? "?"} (API token ${event.actor.tokenId ?? ""})`;
    return event.actor.login ?? "?";
  }

  function detailsText(details: Record<string, unknown>): string {
    return Object.entries(details)
      .map(([key, value]) => `${key}: ${Array.isArray(value) ? (value.length > 0 ? value.join(", ") : "none") : String(value)}`)
      .join("; ");
  }

  async function auditView(type: string, login: string): Promise<HTMLElement[]> {
    const list = pagedTable<AuditEvent>({
      caption: "Audit events",
      headings: ["Time", "Event", "By", "User", "Details"],
      path: "/api/audit",
      query: { ...(type !== "" && { type }), ...(login !== "" && { login }) },
      empty: "No events.",
      moreLabel: "Load older events",
      rows: (events) =>
        events.map((event) =>
          h(
            "tr",
            {},
            h("td", {}, time(event.at)),
            h("td", {}, event.type),
            h("td", {}, actorLabel(event)),
            h("td", {}, event.login === null ? "—" : h("a", { href: `#/audit?login=${enc(event.login)}` }, event.login)),
            h("td", {}, detailsText(event.details) || "—"),
          ),
        ),
    });

    const typeSelect = h("select", { name: "type" }, h("option", { value: "" }, "All events"), auditTypeNames.map((name) => h("option", { value: name, selected: name === type }, name)));
    const loginInput = h("input", { name: "login", type: "text", value: login, autocomplete: "off", spellcheck: "false", autocapitalize: "none" });
    const filters = h("form", { class: "inline", role: "search", "aria-label": "Filter the audit log" }, field("Event type", typeSelect), field("User login", loginInput), h("div", { class: "actions" }, h("button", { type: "submit" }, "Filter")));
    filters.addEventListener("submit", (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      if (typeSelect.value !== "") query.set("type", typeSelect.value);
      if (loginInput.value.trim() !== "") query.set("login", loginInput.value.trim());
      const search = query.toString();
      go(search === "" ? "#/audit" : `#/audit?${search}`);
    });

    await list.load();
    return [
      h("h1", {}, "Audit log"),
      h("p", {}, "What provisioning did, newest first: sign-ins refused, users and memberships created or changed, settings saved, tokens created or revoked."),
      filters,
      ...list.elements,
    ];
  }

  void render();
}
