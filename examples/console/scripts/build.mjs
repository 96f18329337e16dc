// Builds the console into dist/: one hashed JS bundle, one hashed CSS file, a hashed icon,
// and index.html that references them (no inline script or style: the server's CSP forbids both).

import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { build } from "esbuild";

const root = join(import.meta.dirname, "..");
const dist = join(root, "dist");
rmSync(dist, { recursive: true, force: true });

const result = await build({
  entryPoints: [join(root, "src/main.tsx")],
  bundle: true,
  minify: true,
  sourcemap: "linked",
  format: "esm",
  platform: "browser",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: join(dist, "assets"),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((file) => join(process.cwd(), file));
const url = (ext) => {
  const file = outputs.find((f) => f.endsWith(ext) && !f.endsWith(".map"));
  if (!file) throw new Error(`no ${ext} output`);
  return `/${relative(dist, file)}`;
};

const icon = readFileSync(join(root, "src/icon.svg"));
const iconName = `icon-${createHash("sha256").update(icon).digest("hex").slice(0, 8)}.svg`;
copyFileSync(join(root, "src/icon.svg"), join(dist, "assets", iconName));

const html = readFileSync(join(root, "src/index.html"), "utf8")
  .replace("%SCRIPT%", url(".js"))
  .replace("%STYLE%", url(".css"))
  .replace("%ICON%", `/assets/${iconName}`);
mkdirSync(dist, { recursive: true });
writeFileSync(join(dist, "index.html"), html);

const sizes = outputs
  .filter((f) => !f.endsWith(".map") && !f.endsWith(".txt"))
  .map((f) => `${basename(f)} ${(readFileSync(f).length / 1024).toFixed(1)} KiB`);
console.log(`console built: ${sizes.join(", ")}`);
