// The OpenAPI document depends only on the route table, not on live dependencies:
// placeholders are enough to build it.
export function documentDeps() {
  const unused = new Proxy({}, { get: () => unused });
  return { cloud: unused, store: unused, tokens: unused, ids: () => "0", logger: unused };
}
