// Module hook: the agent's import of @cloudedge/edge-sdk/node gets legacy-sdk-node.mjs.
const shim = new URL("./legacy-sdk-node.mjs", import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === "@cloudedge/edge-sdk/node" && !context.parentURL?.startsWith(shim))
    return { url: shim, shortCircuit: true };
  return next(specifier, context);
}
