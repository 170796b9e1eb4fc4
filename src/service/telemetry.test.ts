import { describe, expect, it } from "vitest";
import { pointsAtSelf } from "./telemetry.ts";

describe("pointsAtSelf", () => {
  const config = { host: "127.0.0.1", port: 4318, grpcPort: 4317 };
  it("recognises this instance's own OTLP ports on local addresses", () => {
    expect(pointsAtSelf("http://localhost:4318", config)).toBe(true);
    expect(pointsAtSelf("http://127.0.0.1:4317", config)).toBe(true);
    expect(pointsAtSelf("http://[::1]:4318/v1/traces", config)).toBe(true);
  });
  it("lets other endpoints through", () => {
    expect(pointsAtSelf("http://collector:4318", config)).toBe(false);
    expect(pointsAtSelf("http://localhost:14318", config)).toBe(false);
    expect(pointsAtSelf("not a url", config)).toBe(false);
  });
});
