import { DriverMissingError } from "../errors.js";

/**
 * Runs `load` (a dynamic import of a module that imports the optional peer `packageName`);
 * when that package is not installed, rejects with DriverMissingError naming it. Any other
 * failure (a broken native build, a syntax error) passes through unchanged.
 */
export async function loadDriver<T>(packageName: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (isMissingPackage(err, packageName)) throw new DriverMissingError(packageName, err);
    throw err;
  }
}

/**
 * Node's ESM loader says "Cannot find package 'x'" (ERR_MODULE_NOT_FOUND), its CJS loader
 * "Cannot find module 'x/sub'" (MODULE_NOT_FOUND): either code, naming the package or a
 * subpath of it. Another module missing is not this driver missing.
 */
function isMissingPackage(err: unknown, packageName: string): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return false;
  return (
    typeof message === "string" && new RegExp(`['"]${escapeRegExp(packageName)}(/[^'"]*)?['"]`).test(message)
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
