// Rules for the names users and administrators type: GitLab group paths, logins, permissions.

const groupSegment = "[A-Za-z0-9_.-]+";
const groupPathPattern = new RegExp(`^${groupSegment}(?:/${groupSegment})*$`);

/** A GitLab full path: segments of letters, digits, `_`, `-`, `.` separated by single `/`. */
export function isGroupPath(value: string): boolean {
  return value.length <= 1024 && groupPathPattern.test(value);
}

/** GitLab usernames: letters, digits, `_`, `-`, `.`; we accept up to 255 characters. */
export function isLogin(value: string): boolean {
  return value.length >= 1 && value.length <= 255 && /^[A-Za-z0-9_.-]+$/.test(value);
}

export function isEmail(value: string): boolean {
  return value.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(value);
}

export const knownPermissions = ["admin"] as const;
export type Permission = (typeof knownPermissions)[number];

export function isPermission(value: string): value is Permission {
  return (knownPermissions as readonly string[]).includes(value);
}

/** Is `group` the GitLab path `path` or one of its subgroups? (`a` covers `a/x`, not `ab`) */
export function isSameOrSubgroup(group: string, path: string): boolean {
  return group === path || (group.length > path.length && group.startsWith(path) && group[path.length] === "/");
}
