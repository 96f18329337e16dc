import { CloudError, isCloudError } from "@cloudedge/cloud-sdk";
import type { Context, Next } from "koa";
import type { Logger } from "pino";

/** RFC 9457 problem details, with cloudedge's stable `code` and optional field errors. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  instance?: string;
  errors?: Array<{ path: string; message: string }>;
  [extension: string]: unknown;
}

export const PROBLEM_BASE = "https://cloudedge.dev/problems/";

/** An HTTP-layer error with a stable code (auth, body parsing, routing). */
export class HttpError extends CloudError {
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(code as CloudError["code"], message, status, true, details);
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** The problem document for an SDK or HTTP error. */
export function toProblem(error: CloudError, instance?: string): Problem {
  const { fields, ...rest } = (error.details ?? {}) as { fields?: Problem["errors"] } & Record<
    string,
    unknown
  >;
  // Extensions first: they can never override the standard members.
  return {
    ...rest,
    type: `${PROBLEM_BASE}${error.code}`,
    title: TITLES[error.status] ?? "Error",
    status: error.status,
    code: error.code,
    detail: error.message,
    ...(instance ? { instance } : {}),
    ...(fields && fields.length > 0 ? { errors: fields } : {}),
  };
}

export function sendProblem(ctx: Context, problem: Problem): void {
  ctx.status = problem.status;
  ctx.type = "application/problem+json";
  ctx.body = problem;
}

/** What the request log records for a request whose client hung up first (nginx's 499). */
export const CLIENT_CLOSED_REQUEST = 499;

/** The client closed its connection (reading its body then fails with "aborted", ECONNRESET). */
function clientGone(ctx: Context): boolean {
  return ctx.req.socket?.destroyed === true;
}

/**
 * The one place errors become responses: SDK and HTTP errors map to their status and
 * code; anything else is a 500 that says nothing about internals and is logged with the
 * request id.
 */
export function problemMiddleware(logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        sendProblem(ctx, toProblem(new HttpError(404, "route_not_found", "no such route"), ctx.path));
      } else if (ctx.status === 405 && (ctx.body === undefined || typeof ctx.body === "string")) {
        sendProblem(
          ctx,
          toProblem(new HttpError(405, "method_not_allowed", "method not allowed on this route"), ctx.path),
        );
      }
    } catch (error) {
      if (isCloudError(error) && error.expose) {
        if (error.status >= 500)
          logger.warn({ requestId: ctx.state.requestId, code: error.code }, error.message);
        sendProblem(ctx, toProblem(error, ctx.path));
        return;
      }
      if (clientGone(ctx)) {
        // Nobody to answer (it gave up, e.g. on a slow database): not a server error.
        logger.info({ requestId: ctx.state.requestId, err: String(error) }, "client went away");
        ctx.status = CLIENT_CLOSED_REQUEST;
        return;
      }
      logger.error({ requestId: ctx.state.requestId, err: error }, "unhandled error");
      sendProblem(ctx, {
        type: `${PROBLEM_BASE}internal_error`,
        title: TITLES[500] as string,
        status: 500,
        code: "internal_error",
        detail: `unexpected error; reference ${ctx.state.requestId}`,
        instance: ctx.path,
      });
    }
  };
}
