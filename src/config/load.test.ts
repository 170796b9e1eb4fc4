import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, maskSecrets } from "./load.ts";

const emptyDir = () => mkdtempSync(join(tmpdir(), "plumbline-config-"));

describe("loadConfig", () => {
  it("gives the documented defaults", () => {
    const config = loadConfig({}, emptyDir());
    expect(config).toMatchObject({
      dataDir: "./data",
      host: "127.0.0.1",
      port: 4318,
      grpcPort: 4317,
      rulesDir: "./rules",
      ingestKeys: [],
      clickhouse: { database: "plumbline", user: "default", retentionDays: 30 },
      ingest: { flushIntervalMs: 100 },
      telemetry: { enabled: false },
    });
    expect(config.clickhouse.url).toBeUndefined();
  });

  it("lets the environment override the file, and the file override defaults", () => {
    const dir = emptyDir();
    writeFileSync(
      join(dir, "plumbline.config.json"),
      JSON.stringify({ port: 5000, grpcPort: 5001, clickhouse: { database: "fromfile" } }),
    );
    const config = loadConfig({ PLUMBLINE_PORT: "6000", PLUMBLINE_INGEST_KEYS: "a, b,,c" }, dir);
    expect(config.port).toBe(6000);
    expect(config.grpcPort).toBe(5001);
    expect(config.clickhouse.database).toBe("fromfile");
    expect(config.ingestKeys).toEqual(["a", "b", "c"]);
  });

  it("reads the file named by PLUMBLINE_CONFIG", () => {
    const dir = emptyDir();
    const file = join(dir, "custom.json");
    writeFileSync(file, JSON.stringify({ rulesDir: "/etc/rules" }));
    expect(loadConfig({ PLUMBLINE_CONFIG: file }, emptyDir()).rulesDir).toBe("/etc/rules");
  });

  it("names the key and the bad value", () => {
    expect(() => loadConfig({ PLUMBLINE_PORT: "http" }, emptyDir())).toThrow(
      /PLUMBLINE_PORT="http"/,
    );
    expect(() => loadConfig({ PLUMBLINE_CLICKHOUSE_URL: "not a url" }, emptyDir())).toThrow(
      /PLUMBLINE_CLICKHOUSE_URL="not a url"/,
    );
    const dir = emptyDir();
    writeFileSync(join(dir, "plumbline.config.json"), JSON.stringify({ port: 70000 }));
    expect(() => loadConfig({}, dir)).toThrow(/plumbline\.config\.json: port=70000/);
  });

  it("refuses a role that has nothing to do with the source, naming both", () => {
    expect(() =>
      loadConfig({ PLUMBLINE_ROLE: "ingest", PLUMBLINE_SOURCE: "table" }, emptyDir()),
    ).toThrow(/PLUMBLINE_SOURCE="table": role ingest with source table has nothing to do/);
    expect(
      loadConfig({ PLUMBLINE_ROLE: "evaluate", PLUMBLINE_SOURCE: "table" }, emptyDir()),
    ).toMatchObject({ role: "evaluate", source: "table" });
    expect(loadConfig({ PLUMBLINE_ROLE: "ingest" }, emptyDir()).source).toBe("otlp");
  });

  it("says when the file is not JSON", () => {
    const dir = emptyDir();
    writeFileSync(join(dir, "plumbline.config.json"), "{ nope");
    expect(() => loadConfig({}, dir)).toThrow(ConfigError);
    expect(() => loadConfig({}, dir)).toThrow(/is not JSON/);
  });

  it("turns own telemetry on only with the usual OTEL_* variables", () => {
    expect(loadConfig({}, emptyDir()).telemetry.enabled).toBe(false);
    const on = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }, emptyDir());
    expect(on.telemetry).toEqual({ enabled: true, endpoint: "http://collector:4318" });
    const disabled = loadConfig(
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SDK_DISABLED: "true" },
      emptyDir(),
    );
    expect(disabled.telemetry.enabled).toBe(false);
  });

  it("masks secrets", () => {
    const config = loadConfig(
      {
        PLUMBLINE_API_KEY: "s3cret",
        PLUMBLINE_INGEST_KEYS: "k1,k2",
        PLUMBLINE_CLICKHOUSE_PASSWORD: "pw",
      },
      emptyDir(),
    );
    const text = JSON.stringify(maskSecrets(config));
    expect(text).not.toMatch(/s3cret|k1|k2|"pw"/);
    expect(maskSecrets(config)).toMatchObject({
      apiKey: "***",
      ingestKeys: ["***", "***"],
      clickhouse: { password: "***" },
    });
  });
});

describe("the judge in the config", () => {
  it("reads the judge from the environment and masks its key when printed", () => {
    const config = loadConfig(
      {
        PLUMBLINE_JUDGE_BASE_URL: "http://judge.local:8080/v1",
        PLUMBLINE_JUDGE_API_KEY: "sk-judge-s3cret",
        PLUMBLINE_JUDGE_MODEL: "judge-small",
        PLUMBLINE_JUDGE_CALLS_PER_MINUTE: "12",
      },
      emptyDir(),
    );
    expect(config.judge).toMatchObject({
      baseUrl: "http://judge.local:8080/v1",
      apiKey: "sk-judge-s3cret",
      model: "judge-small",
      callsPerMinute: 12,
      concurrency: 4,
    });
    const text = JSON.stringify(maskSecrets(config));
    expect(text).not.toContain("sk-judge-s3cret");
    expect(maskSecrets(config)).toMatchObject({ judge: { apiKey: "***", model: "judge-small" } });
  });

  it("names the key and hides the value of a bad secret, shows a bad URL", () => {
    expect(() =>
      loadConfig(
        { PLUMBLINE_JUDGE_BASE_URL: "ftp://judge", PLUMBLINE_JUDGE_API_KEY: "" },
        emptyDir(),
      ),
    ).toThrow(/PLUMBLINE_JUDGE_BASE_URL="ftp:\/\/judge"/);
  });

  it("raises rule health alerts unless PLUMBLINE_ALERT_RULE_HEALTH=false", () => {
    expect(loadConfig({}, emptyDir()).alerts.ruleHealth).toBe(true);
    expect(loadConfig({ PLUMBLINE_ALERT_RULE_HEALTH: "false" }, emptyDir()).alerts.ruleHealth).toBe(
      false,
    );
    expect(() => loadConfig({ PLUMBLINE_ALERT_RULE_HEALTH: "off" }, emptyDir())).toThrow(
      /PLUMBLINE_ALERT_RULE_HEALTH="off"/,
    );
  });

  it("leaves the judge unconfigured by default", () => {
    const config = loadConfig({}, emptyDir());
    expect(config.judge.baseUrl).toBeUndefined();
    expect(config.judge.model).toBeUndefined();
  });
});

describe("alert channels in the config", () => {
  it("are validated with the key named, and masked when printed", () => {
    const dir = emptyDir();
    const secret = `whsec_${Buffer.from("0123456789abcdef0123456789abcdef").toString("base64")}`;
    writeFileSync(
      join(dir, "plumbline.config.json"),
      JSON.stringify({
        alerts: {
          channels: {
            hook: {
              type: "webhook",
              url: "https://hooks.example/x",
              secret,
              headers: { authorization: "Bearer t0k" },
            },
          },
          routes: [{ match: { severity: "critical" }, channels: ["pager"] }],
          defaultChannels: ["hook"],
        },
      }),
    );
    expect(() => loadConfig({}, dir)).toThrow(/channel "pager", which is not in channels/);

    writeFileSync(
      join(dir, "plumbline.config.json"),
      JSON.stringify({
        alerts: {
          channels: {
            hook: {
              type: "webhook",
              url: "https://hooks.example/x",
              secret,
              headers: { authorization: "Bearer t0k" },
            },
          },
        },
      }),
    );
    const text = JSON.stringify(maskSecrets(loadConfig({}, dir)));
    expect(text).not.toContain(secret);
    expect(text).not.toContain("t0k");
    expect(text).toContain("hooks.example");
  });
});
