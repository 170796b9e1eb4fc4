/**
 * The UI's static files, served by this process from the package's own files (no CDN, no
 * build): the stylesheet and script module in src/ui/assets/, and uPlot from node_modules. Read
 * once at start; each URL carries a hash of its content, so browsers may keep it for a year.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

interface Asset {
  path: string;
  type: string;
  body: Buffer;
}

const own = (name: string) => fileURLToPath(new URL(`./assets/${name}`, import.meta.url));
const require = createRequire(import.meta.url);

function load(name: string, file: string, type: string): Asset {
  const body = readFileSync(file);
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  return { path: `/ui/assets/${name}?v=${hash}`, type, body };
}

const ASSETS = {
  css: load("plumbline.css", own("plumbline.css"), "text/css; charset=utf-8"),
  js: load("plumbline.js", own("plumbline.js"), "text/javascript; charset=utf-8"),
  icon: load("icon.svg", own("icon.svg"), "image/svg+xml"),
  // uPlot: a time-series chart library of ~50 kB with no dependencies.
  uplotJs: load(
    "uplot.js",
    require.resolve("uplot/dist/uPlot.iife.min.js"),
    "text/javascript; charset=utf-8",
  ),
  uplotCss: load(
    "uplot.css",
    require.resolve("uplot/dist/uPlot.min.css"),
    "text/css; charset=utf-8",
  ),
} as const;

/** The URL of each asset, content hash included. */
export const ASSET_PATHS = Object.fromEntries(
  Object.entries(ASSETS).map(([key, asset]) => [key, asset.path]),
) as Record<keyof typeof ASSETS, string>;

const BY_NAME = new Map(Object.values(ASSETS).map((a) => [a.path.split("?")[0] as string, a]));

/** The asset at a path (without the query), or undefined. */
export function assetAt(path: string): { type: string; body: Buffer } | undefined {
  return BY_NAME.get(path);
}
