/**
 * The deployment files, checked without Docker: docker-compose.yml, the Dockerfile, the
 * ClickHouse server config, Grafana's provisioning and the OpenTelemetry Collector configs
 * parse, point at files that exist, and agree with the config schema and with each other.
 */

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ENV_KEYS, configSchema, loadConfig } from "../src/config/index.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
const DEFAULTS = configSchema.parse({});
/** A directory without plumbline.config.json, so that only the environment counts. */
const NO_CONFIG_FILE = mkdtempSync(path.join(tmpdir(), "plumbline-compose-"));
afterAll(() => rmSync(NO_CONFIG_FILE, { recursive: true, force: true }));

// ---- docker-compose.yml -----------------------------------------------------------------

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

/** Compose's own interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $$. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_]\w*)(?:(:?)([-?])([^}]*))?\}/g,
    (_match, name: string | undefined, colon: string, op: string, arg: string) => {
      if (name === undefined) return "$";
      const set = name in env && (colon !== ":" || env[name] !== "");
      if (set) return env[name] as string;
      if (op === "?") throw new Error(`${name} is required: ${arg}`);
      return op === "-" ? arg : "";
    },
  );
}

const compose = parse(read("docker-compose.yml")) as Compose;
const services = compose.services;
const service = (name: string) => services[name] as Service;

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  bind: boolean;
}
function mounts(name: string): Mount[] {
  return (service(name).volumes ?? []).map((entry) => {
    const [source = "", target = "", mode] = entry.split(":");
    const bind = source.startsWith(".") || source.startsWith("/");
    return { source, target, readOnly: mode === "ro", bind };
  });
}
/** "host:container", "ip:host:container" → container and host ports. */
function ports(name: string): { host: number; container: number }[] {
  return (service(name).ports ?? []).map((entry) => {
    const parts = entry.split(":");
    return { host: Number(parts.at(-2)), container: Number(parts.at(-1)) };
  });
}

describe("docker-compose.yml", () => {
  it("has the stack's services, the gateway only under its profile", () => {
    expect(Object.keys(services).sort()).toEqual(
      ["clickhouse", "collector", "collector-init", "grafana", "plumbline"].sort(),
    );
    for (const name of ["clickhouse", "plumbline", "grafana"]) {
      expect(service(name).profiles, name).toBeUndefined();
    }
    expect(service("collector").profiles).toEqual(["gateway"]);
    expect(service("collector-init").profiles).toEqual(["gateway"]);
  });

  it("pins every image to a version", () => {
    for (const [name, { image }] of Object.entries(services)) {
      expect(image, name).toMatch(/^[a-z0-9./_-]+:[A-Za-z0-9._-]+$/);
      expect(image?.split(":")[1], name).not.toBe("latest");
    }
    const plumbline = service("plumbline");
    expect(plumbline.build).toEqual({ context: ".", dockerfile: "Dockerfile" });
    const version = (JSON.parse(read("package.json")) as { version: string }).version;
    expect(plumbline.image).toBe(`plumbline:${version}`);
  });

  it("mounts only files that exist, read-only, and declares every named volume", () => {
    for (const name of Object.keys(services)) {
      for (const mount of mounts(name)) {
        if (mount.bind) {
          expect(existsSync(path.join(ROOT, mount.source)), `${name}: ${mount.source}`).toBe(true);
          expect(mount.readOnly, `${name}: ${mount.source} read-only`).toBe(true);
        } else {
          expect(Object.keys(compose.volumes), `${name}: volume ${mount.source}`).toContain(
            mount.source,
          );
        }
      }
    }
    const named = Object.keys(services).flatMap((n) => mounts(n).filter((m) => !m.bind));
    expect(new Set(named.map((m) => m.source))).toEqual(new Set(Object.keys(compose.volumes)));
  });

  it("mounts each ClickHouse config file on its own, never the config.d / users.d folders", () => {
    // The image keeps docker_related_config.xml (listen on every interface) in config.d and
    // its entrypoint writes the user into users.d: a folder mount would hide or break them.
    const targets = mounts("clickhouse").map((m) => m.target);
    expect(targets).not.toContain("/etc/clickhouse-server/config.d");
    expect(targets).not.toContain("/etc/clickhouse-server/users.d");
    for (const folder of ["config.d", "users.d"]) {
      const dir = path.join(ROOT, "deploy/clickhouse", folder);
      const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".xml")) : [];
      for (const file of files) {
        expect(targets, file).toContain(`/etc/clickhouse-server/${folder}/${file}`);
      }
    }
  });

  it("gives Plumbline only PLUMBLINE_* variables the config knows, and values it accepts", () => {
    const env = { ...dockerfile.env, ...interpolated("plumbline", {}) };
    for (const name of Object.keys(env).filter((n) => n.startsWith("PLUMBLINE_"))) {
      expect(Object.keys(ENV_KEYS), name).toContain(name);
    }
    const config = loadConfig(env, NO_CONFIG_FILE);
    expect(config.host).toBe("0.0.0.0");
    const url = new URL(config.clickhouse.url ?? "");
    expect(url.hostname).toBe("clickhouse");
    expect(ports("clickhouse").map((p) => p.container)).toContain(Number(url.port));
    expect(config.clickhouse.database).toBe(DEFAULTS.clickhouse.database);
    // Set from the host, the same values reach every service that needs them.
    const custom = interpolated("plumbline", { CLICKHOUSE_USER: "u", CLICKHOUSE_PASSWORD: "p" });
    expect(loadConfig({ ...dockerfile.env, ...custom }, NO_CONFIG_FILE).clickhouse).toMatchObject({
      user: "u",
      password: "p",
    });
    for (const name of ["clickhouse", "grafana"]) {
      const vars = interpolated(name, { CLICKHOUSE_USER: "u", CLICKHOUSE_PASSWORD: "p" });
      expect(vars, name).toMatchObject({ CLICKHOUSE_USER: "u", CLICKHOUSE_PASSWORD: "p" });
    }
  });

  it("publishes Plumbline's default ports, the ones the image exposes", () => {
    const expected = [DEFAULTS.port, DEFAULTS.grpcPort].sort();
    expect(
      ports("plumbline")
        .map((p) => p.container)
        .sort(),
    ).toEqual(expected);
    expect(
      ports("plumbline")
        .map((p) => p.host)
        .sort(),
    ).toEqual(expected);
    expect([...dockerfile.expose].sort()).toEqual(expected);
    expect(ports("grafana")).toEqual([{ host: 3000, container: 3000 }]);
    // The gateway listens on other host ports than Plumbline, so both can run.
    const gateway = ports("collector");
    expect(gateway.map((p) => p.container).sort()).toEqual([4317, 4318]);
    for (const { host } of gateway) expect(expected).not.toContain(host);
  });

  it("starts Plumbline and Grafana once ClickHouse is healthy", () => {
    expect(service("clickhouse").healthcheck?.test.join(" ")).toContain(":8123/ping");
    expect(service("plumbline").depends_on).toEqual({
      clickhouse: { condition: "service_healthy" },
    });
    expect(service("grafana").depends_on?.["clickhouse"]).toEqual({
      condition: "service_healthy",
    });
  });

  it("gives Grafana the ClickHouse plugin (pinned) and the dashboards", () => {
    const env = service("grafana").environment ?? {};
    expect(env["GF_PLUGINS_PREINSTALL_SYNC"]).toMatch(
      /^grafana-clickhouse-datasource@4\.\d+\.\d+$/,
    );
    const byTarget = Object.fromEntries(mounts("grafana").map((m) => [m.target, m.source]));
    expect(byTarget).toMatchObject({
      "/var/lib/grafana": "grafana-data",
      "/etc/grafana/provisioning/datasources": "./dashboards/provisioning/datasources",
      "/etc/grafana/provisioning/dashboards": "./dashboards/provisioning/dashboards",
      "/var/lib/grafana/dashboards": "./dashboards",
    });
  });

  it("runs the gateway with its config and a disk queue the collector user can write", () => {
    const collector = service("collector");
    const byTarget = Object.fromEntries(mounts("collector").map((m) => [m.target, m.source]));
    expect(byTarget["/etc/otelcol-contrib/config.yaml"]).toBe("./collectors/gateway.yaml");
    const gateway = collectorConfig("collectors/gateway.yaml");
    const queueDir = (gateway.extensions?.["file_storage/queue"] as { directory: string })
      .directory;
    const queueVolume = byTarget[queueDir];
    expect(queueVolume).toBeDefined();
    const init = mounts("collector-init");
    expect(init).toEqual([expect.objectContaining({ source: queueVolume, target: queueDir })]);
    expect(service("collector-init").command).toEqual(["chown", "-R", "10001:10001", queueDir]);
    expect(collector.depends_on?.["collector-init"]).toEqual({
      condition: "service_completed_successfully",
    });
  });
});

function interpolated(name: string, env: Record<string, string>): Record<string, string> {
  const vars = service(name).environment ?? {};
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, interpolate(String(v), env)]));
}

// ---- Dockerfile ---------------------------------------------------------------------------

/** The instructions of a Dockerfile, continuation lines joined, comments dropped. */
function dockerInstructions(text: string): { op: string; args: string }[] {
  const lines = text
    .split("\n")
    .filter((l) => !l.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  return lines
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [op = "", ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

const dockerfile = (() => {
  const instructions = dockerInstructions(read("Dockerfile"));
  const stages = instructions.filter((i) => i.op === "FROM").map((i) => i.args);
  const last = instructions.slice(instructions.findLastIndex((i) => i.op === "FROM"));
  const env: Record<string, string> = {};
  for (const { args } of last.filter((i) => i.op === "ENV")) {
    for (const [, k, v] of args.matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g))
      env[k as string] = v as string;
  }
  const expose = last
    .filter((i) => i.op === "EXPOSE")
    .flatMap((i) => i.args.split(/\s+/).map(Number));
  const one = (op: string) => last.filter((i) => i.op === op).at(-1)?.args ?? "";
  return { instructions, stages, last, env, expose, user: one("USER"), cmd: one("CMD") };
})();

describe("Dockerfile", () => {
  it("builds in stages on a pinned Debian slim Node 20 (chDB needs glibc)", () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of dockerfile.stages) {
      expect(stage).toMatch(/^node:20\.\d+\.\d+-bookworm-slim( AS \w+)?$/);
    }
    expect(dockerfile.instructions.some((i) => /npm ci --omit=dev/.test(i.args))).toBe(true);
    // The service runs TypeScript through tsx, so tsx must survive --omit=dev.
    const pkg = JSON.parse(read("package.json")) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).toContain("tsx");
  });

  it("runs as an unprivileged user, as `npm start` does, with a /readyz health check", () => {
    expect(dockerfile.user).not.toBe("");
    expect(["root", "0"]).not.toContain(dockerfile.user.split(":")[0]);
    const pkg = JSON.parse(read("package.json")) as { scripts: { start: string } };
    expect((JSON.parse(dockerfile.cmd) as string[]).join(" ")).toBe(pkg.scripts.start);
    const healthcheck = dockerfile.last.find((i) => i.op === "HEALTHCHECK")?.args ?? "";
    expect(healthcheck).toContain("/readyz");
    expect(healthcheck).toContain(`PLUMBLINE_PORT||${DEFAULTS.port}`);
  });

  it("copies files that exist and that .dockerignore lets through", () => {
    const ignore = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    expect(ignore[0]).toBe("*"); // an allow-list
    const allowed = ignore.filter((l) => l.startsWith("!")).map((l) => l.slice(1));
    const copies = dockerfile.instructions.filter(
      (i) => i.op === "COPY" && !i.args.startsWith("--from"),
    );
    expect(copies.length).toBeGreaterThan(0);
    for (const { args } of copies) {
      for (const source of args.split(/\s+/).slice(0, -1)) {
        expect(existsSync(path.join(ROOT, source)), source).toBe(true);
        const isDir = statSync(path.join(ROOT, source)).isDirectory();
        expect(allowed, source).toContain(isDir ? `${source}/` : source);
      }
    }
  });
});

// ---- Grafana provisioning ---------------------------------------------------------------

/** Grafana expands $VAR and ${VAR} in the string values of provisioning files (not comments). */
const GRAFANA_ENV_REF = /\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/g;

function envReferences(value: unknown): string[] {
  if (typeof value === "string") {
    return [...value.matchAll(GRAFANA_ENV_REF)].map(
      ([, braced, bare]) => (braced ?? bare) as string,
    );
  }
  if (typeof value !== "object" || value === null) return [];
  return Object.values(value).flatMap(envReferences);
}

function expandEnv(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === "string") {
    return value.replace(GRAFANA_ENV_REF, (_, braced?: string, bare?: string) => {
      return env[(braced ?? bare) as string] ?? "";
    });
  }
  if (Array.isArray(value)) return value.map((v) => expandEnv(v, env));
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, env)]));
}

interface DataSource {
  name: string;
  type: string;
  jsonData: { host?: string; port?: number; protocol?: string; username?: string };
  secureJsonData?: { password?: string };
}

describe("Grafana provisioning", () => {
  const provisioning = mounts("grafana").filter((m) => m.target.startsWith("/etc/grafana/"));
  const files = provisioning.flatMap((m) => {
    const dir = path.join(ROOT, m.source);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => path.join(m.source, f));
  });

  it("parses, and every variable it reads is set for Grafana", () => {
    const grafanaEnv = Object.keys(service("grafana").environment ?? {});
    for (const file of files) {
      let doc: unknown;
      expect(() => (doc = parse(read(file))), file).not.toThrow();
      for (const name of envReferences(doc)) {
        expect(grafanaEnv, `${file}: $${name}`).toContain(name);
      }
    }
  });

  it("reaches the compose ClickHouse with the account the compose file creates", () => {
    const grafanaEnv = interpolated("grafana", {});
    const account = interpolated("clickhouse", {});
    const sources = files
      .filter((f) => f.includes("provisioning/datasources"))
      .flatMap((f) => {
        const doc = expandEnv(parse(read(f)), grafanaEnv) as { datasources?: DataSource[] };
        return doc.datasources ?? [];
      })
      .filter((d) => d.type === "grafana-clickhouse-datasource");
    for (const { name, jsonData, secureJsonData } of sources) {
      expect(jsonData.host, name).toBe("clickhouse");
      // The server's default ports: http_port and tcp_port (native protocol).
      expect(jsonData.port, name).toBe(jsonData.protocol === "http" ? 8123 : 9000);
      expect(jsonData.username, name).toBe(account["CLICKHOUSE_USER"]);
      expect(secureJsonData?.password, name).toBe(account["CLICKHOUSE_PASSWORD"]);
    }
  });

  it("loads dashboards from a folder mounted into Grafana", () => {
    const targets = mounts("grafana").map((m) => m.target);
    for (const file of files.filter((f) => f.includes("provisioning/dashboards"))) {
      const doc = parse(read(file)) as { providers?: { options?: { path?: string } }[] };
      for (const provider of doc.providers ?? []) {
        const dir = provider.options?.path ?? "";
        expect(
          targets.some((t) => dir === t || dir.startsWith(`${t}/`)),
          `${file}: ${dir}`,
        ).toBe(true);
      }
    }
  });
});

// ---- OpenTelemetry Collector configs ----------------------------------------------------

/**
 * The components of otel/opentelemetry-collector-contrib 0.136.0, by Go module name, from the
 * distribution's manifest (open-telemetry/opentelemetry-collector-releases,
 * distributions/otelcol-contrib/manifest.yaml).
 */
const CONTRIB: Record<Kind, Set<string>> = {
  extension: words(`zpagesextension ackextension asapauthextension awsproxy azureauthextension
    basicauthextension bearertokenauthextension cgroupruntimeextension datadogextension
    awscloudwatchmetricstreamsencodingextension awslogsencodingextension
    googlecloudlogentryencodingextension jaegerencodingextension jsonlogencodingextension
    otlpencodingextension skywalkingencodingextension textencodingextension
    zipkinencodingextension googleclientauthextension headerssetterextension
    healthcheckextension httpforwarderextension jaegerremotesampling oauth2clientauthextension
    dockerobserver ecsobserver ecstaskobserver hostobserver k8sobserver kafkatopicsobserver
    oidcauthextension opampextension pprofextension sigv4authextension filestorage dbstorage
    redisstorageextension sumologicextension k8sleaderelector`),
  exporter: words(`debugexporter nopexporter otlpexporter otlphttpexporter
    alibabacloudlogserviceexporter awscloudwatchlogsexporter awsemfexporter awskinesisexporter
    awsxrayexporter awss3exporter azureblobexporter azuredataexplorerexporter
    azuremonitorexporter bmchelixexporter carbonexporter cassandraexporter clickhouseexporter
    coralogixexporter datadogexporter datasetexporter dorisexporter elasticsearchexporter
    faroexporter fileexporter googlecloudexporter googlecloudpubsubexporter
    googlemanagedprometheusexporter honeycombmarkerexporter influxdbexporter kafkaexporter
    loadbalancingexporter logicmonitorexporter logzioexporter mezmoexporter opensearchexporter
    otelarrowexporter prometheusexporter prometheusremotewriteexporter pulsarexporter
    rabbitmqexporter sapmexporter sentryexporter signalfxexporter splunkhecexporter
    stefexporter sumologicexporter syslogexporter tencentcloudlogserviceexporter
    tinybirdexporter zipkinexporter`),
  processor: words(`batchprocessor memorylimiterprocessor attributesprocessor
    cumulativetodeltaprocessor coralogixprocessor deltatocumulativeprocessor
    deltatorateprocessor filterprocessor geoipprocessor groupbyattrsprocessor
    groupbytraceprocessor intervalprocessor isolationforestprocessor k8sattributesprocessor
    logdedupprocessor metricsgenerationprocessor metricstarttimeprocessor
    metricstransformprocessor probabilisticsamplerprocessor redactionprocessor
    remotetapprocessor resourcedetectionprocessor resourceprocessor schemaprocessor
    spanprocessor sumologicprocessor tailsamplingprocessor transformprocessor`),
  receiver: words(`nopreceiver otlpreceiver activedirectorydsreceiver aerospikereceiver
    apachereceiver apachesparkreceiver awscloudwatchreceiver awscontainerinsightreceiver
    awsecscontainermetricsreceiver awsfirehosereceiver awss3receiver awsxrayreceiver
    azureblobreceiver azureeventhubreceiver azuremonitorreceiver bigipreceiver carbonreceiver
    chronyreceiver cloudflarereceiver cloudfoundryreceiver collectdreceiver couchdbreceiver
    datadogreceiver dockerstatsreceiver elasticsearchreceiver envoyalsreceiver
    expvarreceiver faroreceiver filelogreceiver filestatsreceiver flinkmetricsreceiver
    fluentforwardreceiver githubreceiver googlecloudmonitoringreceiver
    googlecloudpubsubreceiver googlecloudspannerreceiver haproxyreceiver hostmetricsreceiver
    httpcheckreceiver influxdbreceiver iisreceiver jaegerreceiver jmxreceiver
    journaldreceiver k8sclusterreceiver k8seventsreceiver k8sobjectsreceiver
    kafkametricsreceiver kafkareceiver kubeletstatsreceiver libhoneyreceiver lokireceiver
    memcachedreceiver mongodbatlasreceiver mongodbreceiver mysqlreceiver namedpipereceiver
    netflowreceiver nginxreceiver nsxtreceiver ntpreceiver oracledbreceiver
    otlpjsonfilereceiver otelarrowreceiver podmanreceiver postgresqlreceiver
    prometheusreceiver prometheusremotewritereceiver purefareceiver purefbreceiver
    pulsarreceiver rabbitmqreceiver receivercreator redisreceiver riakreceiver
    saphanareceiver signalfxreceiver simpleprometheusreceiver skywalkingreceiver
    snowflakereceiver solacereceiver splunkenterprisereceiver splunkhecreceiver stefreceiver
    sqlqueryreceiver sqlserverreceiver sshcheckreceiver statsdreceiver syslogreceiver
    tcpcheckreceiver tcplogreceiver tlscheckreceiver udplogreceiver vcenterreceiver
    wavefrontreceiver snmpreceiver webhookeventreceiver windowseventlogreceiver
    windowsperfcountersreceiver zipkinreceiver zookeeperreceiver`),
  connector: words(`forwardconnector countconnector datadogconnector exceptionsconnector
    failoverconnector grafanacloudconnector otlpjsonconnector roundrobinconnector
    routingconnector servicegraphconnector spanmetricsconnector sumconnector
    signaltometricsconnector`),
};
type Kind = "receiver" | "processor" | "exporter" | "extension" | "connector";
const KINDS: Kind[] = ["receiver", "processor", "exporter", "extension", "connector"];

function words(text: string): Set<string> {
  return new Set(text.split(/\s+/).filter(Boolean));
}

/** A component id's module: `memory_limiter/x` → memorylimiterprocessor, `file_storage` → filestorage. */
function contribModule(kind: Kind, id: string): string | undefined {
  const bare = (id.split("/")[0] ?? "").replaceAll("_", "");
  return [bare, `${bare}${kind}`].find((name) => CONTRIB[kind].has(name));
}

type Section = Record<string, Record<string, unknown> | null>;
interface CollectorConfig {
  receivers?: Section;
  processors?: Section;
  exporters?: Section;
  extensions?: Section;
  connectors?: Section;
  service: {
    extensions?: string[];
    pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }>;
  };
}
const collectorConfig = (file: string) => parse(read(file)) as CollectorConfig;
const section = (config: CollectorConfig, kind: Kind): Section => config[`${kind}s`] ?? {};

describe.each(["collectors/gateway.yaml", "collectors/clickhouse-direct.yaml"])("%s", (file) => {
  const config = collectorConfig(file);

  it("uses only components of the contrib distribution", () => {
    for (const kind of KINDS) {
      for (const id of Object.keys(section(config, kind))) {
        expect(contribModule(kind, id), `${kind} ${id}`).toBeDefined();
      }
    }
  });

  it("has pipelines and extensions that name defined components", () => {
    const defined = (kind: Kind) => Object.keys(section(config, kind));
    const connectors = defined("connector");
    for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
      for (const id of pipeline.receivers) {
        expect([...defined("receiver"), ...connectors], `${name}: ${id}`).toContain(id);
      }
      for (const id of pipeline.processors ?? []) {
        expect(defined("processor"), `${name}: ${id}`).toContain(id);
      }
      for (const id of pipeline.exporters) {
        expect([...defined("exporter"), ...connectors], `${name}: ${id}`).toContain(id);
      }
      // memory_limiter first, so data is refused before anything else holds it.
      expect(pipeline.processors?.[0], name).toMatch(/^memory_limiter(\/|$)/);
      expect(
        pipeline.processors?.some((id) => /^batch(\/|$)/.test(id)),
        name,
      ).toBe(true);
    }
    for (const id of config.service.extensions ?? []) expect(defined("extension")).toContain(id);
  });

  it("receives OTLP over gRPC and HTTP on every interface", () => {
    const otlp = section(config, "receiver")["otlp"] as {
      protocols: { grpc: { endpoint: string }; http: { endpoint: string } };
    };
    expect(otlp.protocols.grpc.endpoint).toBe(`0.0.0.0:${DEFAULTS.grpcPort}`);
    expect(otlp.protocols.http.endpoint).toBe(`0.0.0.0:${DEFAULTS.port}`);
  });

  it("retries and queues on disk, through a storage extension it starts", () => {
    for (const [id, exporter] of Object.entries(section(config, "exporter"))) {
      const { retry_on_failure: retry, sending_queue: queue } = exporter as {
        retry_on_failure: { enabled: boolean };
        sending_queue: { enabled: boolean; storage: string };
      };
      expect(retry.enabled, id).toBe(true);
      expect(queue.enabled, id).toBe(true);
      expect(queue.storage, id).toMatch(/^file_storage(\/|$)/);
      expect(config.service.extensions, id).toContain(queue.storage);
    }
  });
});

describe("collectors/gateway.yaml", () => {
  it("forwards to Plumbline's OTLP/HTTP port, by its compose service name", () => {
    const exporters = section(collectorConfig("collectors/gateway.yaml"), "exporter");
    const { endpoint } = exporters["otlphttp"] as { endpoint: string };
    expect(endpoint).toBe(`http://plumbline:${DEFAULTS.port}`);
    expect(Object.keys(services)).toContain(new URL(endpoint).hostname);
  });
});

describe("collectors/clickhouse-direct.yaml", () => {
  it("writes otel_traces in Plumbline's database, on the compose ClickHouse", () => {
    const exporters = section(collectorConfig("collectors/clickhouse-direct.yaml"), "exporter");
    const clickhouse = exporters["clickhouse"] as Record<string, unknown>;
    expect(clickhouse["database"]).toBe(DEFAULTS.clickhouse.database);
    expect(clickhouse["database"]).toBe(
      service("plumbline").environment?.["PLUMBLINE_CLICKHOUSE_DATABASE"],
    );
    expect(clickhouse["traces_table_name"]).toBe(DEFAULTS.clickhouse.tracesTable);
    expect(new URL(clickhouse["endpoint"] as string).hostname).toBe("clickhouse");
    expect(clickhouse["ttl"]).toBe(`${DEFAULTS.clickhouse.retentionDays * 24}h`);
  });
});

// ---- ClickHouse server config -----------------------------------------------------------

interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

/** Enough XML for config files: elements and text; throws on unbalanced tags. */
function parseXml(source: string): XmlElement {
  const text = source.replace(/<\?[\s\S]*?\?>/g, "").replace(/<!--[\s\S]*?-->/g, "");
  const root: XmlElement = { name: "#document", children: [], text: "" };
  const stack = [root];
  let last = 0;
  for (const match of text.matchAll(/<(\/?)([A-Za-z_][\w.-]*)[^>]*?(\/?)>/g)) {
    const top = stack.at(-1) as XmlElement;
    top.text += text.slice(last, match.index);
    last = match.index + match[0].length;
    const [, closing, name = "", selfClosing] = match;
    if (closing) {
      if (top.name !== name) throw new Error(`</${name}> closes <${top.name}>`);
      stack.pop();
    } else {
      const element: XmlElement = { name, children: [], text: "" };
      top.children.push(element);
      if (!selfClosing) stack.push(element);
    }
  }
  if (stack.length !== 1) throw new Error(`<${stack.at(-1)?.name}> is never closed`);
  return root;
}

describe("deploy/clickhouse", () => {
  const xmlFiles = ["config.d", "users.d"].flatMap((folder) => {
    const dir = path.join(ROOT, "deploy/clickhouse", folder);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith(".xml"))
      .map((f) => `deploy/clickhouse/${folder}/${f}`);
  });

  it("holds well-formed <clickhouse> config files", () => {
    expect(xmlFiles.length).toBeGreaterThan(0);
    for (const file of xmlFiles) {
      const doc = parseXml(read(file));
      expect(
        doc.children.map((c) => c.name),
        file,
      ).toEqual(["clickhouse"]);
    }
  });

  it("caps every system log the server keeps with a TTL", () => {
    const config = parseXml(read("deploy/clickhouse/config.d/system-log-ttl.xml"));
    const logs = new Map(config.children[0]?.children.map((c) => [c.name, c]));
    // The logs ClickHouse's config.xml turns on (25.8 LTS and later).
    const expected = [
      "query_log",
      "query_thread_log",
      "query_views_log",
      "query_metric_log",
      "part_log",
      "trace_log",
      "text_log",
      "metric_log",
      "asynchronous_metric_log",
      "latency_log",
      "error_log",
      "processors_profile_log",
      "asynchronous_insert_log",
      "backup_log",
      "s3queue_log",
      "blob_storage_log",
      "crash_log",
      "opentelemetry_span_log",
    ];
    expect([...logs.keys()].sort()).toEqual([...expected].sort());
    // A section would turn this one on, and config.xml warns against it.
    expect(logs.has("session_log")).toBe(false);
    for (const [name, log] of logs) {
      const ttl = log.children.find((c) => c.name === "ttl")?.text.trim();
      const engine = log.children.find((c) => c.name === "engine")?.text ?? "";
      // ClickHouse refuses <ttl> next to a full <engine> clause: there it is part of the clause.
      expect(ttl === undefined || engine === "", name).toBe(true);
      const clause = ttl ?? /\bTTL\s+(.*?)\s*$/s.exec(engine)?.[1];
      expect(clause, name).toMatch(/^\w+ \+ INTERVAL \d+ DAY DELETE$/);
    }
  });
});

// ---- docs ---------------------------------------------------------------------------------

describe("README.md", () => {
  it("shows how to run the stack and use an existing collector, with the published ports", () => {
    const text = read("README.md");
    expect(text).toContain("## Run the full stack");
    expect(text).toContain("## Use your existing collector");
    const published = Object.keys(services).flatMap((name) => ports(name).map((p) => p.host));
    for (const port of published) expect(text, `port ${port}`).toContain(String(port));
  });
});
