import { join } from "node:path";
import { describeEndToEnd } from "./e2e.js";

describeEndToEnd("SQLite, the default", (dir) => `sqlite:${join(dir, "data", "cloudedge.db")}`);
