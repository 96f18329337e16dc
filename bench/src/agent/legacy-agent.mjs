// The reference agent (examples/agent/dist/main.js, same argv) with the collector it had
// before issue 19, for the agent scenario's "before" figures.
import { register } from "node:module";

register("./legacy-hooks.mjs", import.meta.url);
await import("../../../examples/agent/dist/main.js");
