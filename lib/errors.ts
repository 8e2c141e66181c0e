// The error hierarchy of the domain. HTTP status codes are assigned in lib/http.ts only.

export interface FieldError {
  field: string;
  message: string;
}

export class AppError extends Error {
  override name = "AppError";
}

/** The request is malformed: bad JSON, wrong types, unknown fields. */
export class ValidationError extends AppError {
  override name = "ValidationError";
  constructor(
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
  }
}

export class PayloadTooLargeError extends AppError {
  override name = "PayloadTooLargeError";
}

export class UnsupportedMediaTypeError extends AppError {
  override name = "UnsupportedMediaTypeError";
}

export class UnauthenticatedError extends AppError {
  override name = "UnauthenticatedError";
}

export class ForbiddenError extends AppError {
  override name = "ForbiddenError";
}

export class NotFoundError extends AppError {
  override name = "NotFoundError";
}

export class ConflictError extends AppError {
  override name = "ConflictError";
}

export class PreconditionFailedError extends AppError {
  override name = "PreconditionFailedError";
}

/** A method the route does not support. */
export class MethodNotAllowedError extends AppError {
  override name = "MethodNotAllowedError";
}

/** GitLab could not be reached, timed out or answered something we cannot use. */
export class GitLabUnavailableError extends AppError {
  override name = "GitLabUnavailableError";
}

/** Concurrent changes kept a write from committing after several retries: try again later. */
export class BusyError extends AppError {
  override name = "BusyError";
}

/** The OAuth state is missing, tampered, expired or already used, or the code was rejected. */
export class InvalidSignInRequestError extends AppError {
  override name = "InvalidSignInRequestError";
}

export type SignInRefusal =
  | "signup_blocked"
  | "deactivated"
  | "gitlab_state"
  | "email_taken"
  | "login_taken"
  | "not_in_allowed_group"
  | "access_denied"
  | "disabled";

/** The person is known to GitLab but may not enter. */
export class SignInRefusedError extends AppError {
  override name = "SignInRefusedError";
  constructor(
    readonly reason: SignInRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** DynamoDB's conditional write failed; translated inside lib/ before reaching callers. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

export function transactionCancellationCodes(error: unknown): string[] | null {
  if (!(error instanceof Error) || error.name !== "TransactionCanceledException") return null;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((reason) => reason.Code ?? "None");
}
