/** RFC 9457 problem details as the API sends them, with cloudedge's stable `code`. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  code: string;
  detail?: string;
  errors?: Array<{ path: string; message: string }>;
  [extension: string]: unknown;
}

/** A failed API call; `problem` is what the server said (or a stand-in for network failures). */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? problem.code);
    this.name = "ApiError";
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string {
    return this.problem.code;
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Encodes one path segment (ids come from the API, but never trust a string into a URL). */
export const seg = (value: string): string => encodeURIComponent(value);

/**
 * The REST client: bearer token in a header (never in a URL), JSON in and out, every
 * failure as an ApiError. A 401 also calls `onUnauthorized` (back to sign-in).
 */
export class Api {
  constructor(
    readonly token: string,
    private readonly onUnauthorized: (problem: Problem) => void = () => {},
  ) {}

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("GET", withQuery(path, query));
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          accept: "application/json, application/problem+json",
          authorization: `Bearer ${this.token}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError({
        status: 0,
        code: "network_error",
        title: "Network error",
        detail: `the server could not be reached (${(error as Error).message})`,
      });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const problem: Problem =
        parsed && typeof parsed === "object" && typeof (parsed as Problem).code === "string"
          ? { ...(parsed as Problem), status: response.status }
          : {
              status: response.status,
              code: `http_${response.status}`,
              title: response.statusText || "Error",
              detail: text.slice(0, 300) || undefined,
            };
      if (response.status === 401) this.onUnauthorized(problem);
      throw new ApiError(problem);
    }
    return parsed as T;
  }
}
