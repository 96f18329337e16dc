import type { Context } from "koa";
import { HttpError } from "./problem.js";

/**
 * Reads a JSON request body with a size limit. Errors are problem-ready: 413
 * payload_too_large, 415 unsupported_media_type, 400 invalid_json.
 */
export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  const length = Number(ctx.get("content-length") || 0);
  if (length > limitBytes)
    throw new HttpError(413, "payload_too_large", `the body is larger than ${limitBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) {
      ctx.req.resume();
      throw new HttpError(413, "payload_too_large", `the body is larger than ${limitBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  if (!ctx.is("application/json", "application/*+json")) {
    throw new HttpError(415, "unsupported_media_type", "send the body as application/json");
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "invalid_json", "the body is not valid JSON");
  }
}
