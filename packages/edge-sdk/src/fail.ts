import type { EdgeErrorCode } from "./errors.js";

/**
 * Reports a local failure the client carries on from (logged, then the `error` event), so
 * the pieces of the client share one way to complain.
 */
export type Fail = (code: EdgeErrorCode, message: string, cause?: unknown) => void;
