/**
 * `plumbline demo`: runs demo/demo.ts, the simulated agent application of the first minute. It
 * lives outside src/ because it drives the OpenTelemetry SDK and the detection benchmark's
 * simulator, which are development dependencies: a clone after `npm install` has them, an
 * image built with `--omit=dev` does not, and then this says so instead of failing on an import.
 */

import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const DEMO = fileURLToPath(new URL("../../demo/demo.ts", import.meta.url));

export async function demoCommand(args: string[]): Promise<number> {
  if (!existsSync(DEMO)) {
    process.stderr.write(
      "plumbline demo: the demo is not in this installation; run it from a clone of the repository (npm install, npm start, then npm run demo)\n",
    );
    return 1;
  }
  let demo: { demoMain(args: string[]): Promise<number> };
  try {
    // A computed path: not an import of shipped code (docs/architecture.md).
    demo = (await import(pathToFileURL(DEMO).href)) as typeof demo;
  } catch (error) {
    process.stderr.write(
      `plumbline demo: the demo needs the development dependencies (npm install without --omit=dev): ${(error as Error).message}\n`,
    );
    return 1;
  }
  return demo.demoMain(args);
}
