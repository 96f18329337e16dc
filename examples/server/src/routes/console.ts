import { createReadStream, existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, extname, join, normalize, sep } from "node:path";
import type { Context, Next } from "koa";
import { HttpError, sendProblem, toProblem } from "../http/problem.js";

/**
 * The console's responses only: scripts, styles and fetches from this origin, images also
 * as data: URIs, never framed. Nothing inline, so device-provided strings can never run.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

// Paths the server owns: never answered with the console (their 404s stay problems).
const API_PREFIXES = ["/api/", "/service/", "/ws", "/metrics", "/healthz", "/readyz"];

/** Where `npm run build -w @cloudedge/console` puts the console (undefined if not installed). */
export function defaultConsoleDir(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve("@cloudedge/console/package.json");
    return join(dirname(manifest), "dist");
  } catch {
    return undefined;
  }
}

/**
 * Serves the web console at `/`: hashed files under /assets/ cached for a year, index.html
 * revalidated every time, and index.html for any other non-API GET (the SPA's routes).
 * Registered after the API router, so it only sees requests no route took.
 */
export function consoleMiddleware(dir: string | undefined = defaultConsoleDir()) {
  const root = dir ? normalize(dir) : undefined;
  return async (ctx: Context, next: Next): Promise<void> => {
    if ((ctx.method !== "GET" && ctx.method !== "HEAD") || API_PREFIXES.some((p) => ctx.path.startsWith(p)))
      return next();
    if (!root || !existsSync(join(root, "index.html"))) {
      sendProblem(
        ctx,
        toProblem(
          new HttpError(
            503,
            "console_unavailable",
            "the web console is not built: run `npm run build -w @cloudedge/console` (npm start does)",
          ),
          ctx.path,
        ),
      );
      return;
    }
    let relative: string;
    try {
      relative = decodeURIComponent(ctx.path);
    } catch {
      return next();
    }
    const file = normalize(join(root, relative));
    const inside = file.startsWith(root + sep) && !relative.includes("\0");
    const info = inside ? await stat(file).catch(() => undefined) : undefined;
    if (info?.isFile() && extname(file) !== ".html") {
      await sendFile(ctx, file, info.size, info.mtime, "public, max-age=31536000, immutable");
      return;
    }
    // A missing asset is a 404, not the page: a browser must not run HTML as a script.
    if (extname(relative) !== "" && extname(relative) !== ".html") return next();
    const index = join(root, "index.html");
    const indexInfo = await stat(index);
    await sendFile(ctx, index, indexInfo.size, indexInfo.mtime, "no-cache");
  };
}

async function sendFile(ctx: Context, file: string, size: number, mtime: Date, cache: string): Promise<void> {
  ctx.set({
    "Content-Security-Policy": CONSOLE_CSP,
    "Cache-Control": cache,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
  });
  ctx.type = TYPES[extname(file)] ?? "application/octet-stream";
  ctx.lastModified = mtime;
  ctx.etag = `W/"${size.toString(16)}-${mtime.getTime().toString(16)}"`;
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.length = size;
  ctx.body = ctx.method === "HEAD" ? null : createReadStream(file);
}
