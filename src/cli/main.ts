/**
 * `plumbline <command>`: reads the command line and runs serve and config check here, the rule
 * commands in rules-commands.ts. Every command answers `--help` (or `-h`) with its usage on
 * stdout and exit 0; a wrong command line gets a message and the usage on stderr, exit 2.
 */

import { parseArgs } from "node:util";
import { ConfigError, loadConfig, maskSecrets } from "../config/index.ts";
import { createLogger } from "../service/log.ts";

interface CommandHelp {
  /** The words that select it: "serve", "rules check". */
  name: string;
  /** Its arguments, after the name. */
  args: string;
  summary: string;
  details: string;
}

const COMMANDS: readonly CommandHelp[] = [
  {
    name: "serve",
    args: "",
    summary: "run the service (OTLP/HTTP, OTLP/gRPC, API)",
    details: `Runs the service: OTLP/HTTP and the API on PLUMBLINE_PORT (4318), OTLP/gRPC on
PLUMBLINE_GRPC_PORT (4317), storage, evaluation and alerting. Stops cleanly on SIGTERM or SIGINT.`,
  },
  {
    name: "config check",
    args: "",
    summary: "print the resolved configuration, secrets masked, and exit",
    details: `Prints the configuration the service would run with (file, then environment, then
defaults) as JSON, secrets masked; exits 1 naming the key and the value when one is wrong.`,
  },
  {
    name: "rules check",
    args: "[dir]",
    summary: "validate every rule file (default: the rules directory)",
    details: `Validates every rule file under dir (default: PLUMBLINE_RULES_DIR) exactly as the service
loads them and prints every problem as file: /json/pointer: message. Exits 1 when there is any.`,
  },
  {
    name: "rules test",
    args: "<rule.json> <outputs.jsonl>",
    summary: "run one rule on example outputs, pass/fail per line",
    details: `Runs one rule on example outputs (one agent_outputs row as JSON per line; a line may say
"expect": "pass" or "fail") and prints pass or fail with the findings of each. Exits 1 when an
outcome differs from its expectation.`,
  },
  {
    name: "backtest",
    args: "--rules <dir|file> [--since 7d] [--until t] [--service s] [--compare <dir|file>] [--json] [--sample N] [--yes]",
    summary: "replay rules and their alerts over stored outputs: what would have fired",
    details: `Replays the rules over the outputs stored in the period and prints, for each rule, what
it would have found and the alerts it would have raised: a timeline of each alert's episodes
(pending, firing, resolved), the notifications each channel would have received, and a summary.
The alerts go through the service's own alert state machine in the simulated time of the data,
with its routes, channels and tick, as if the rules had been switched on at --since. Nothing is
written and no alert is sent. Runs through the service at --url (default: the configured host
and port), which owns an embedded store; when nothing listens there, reads the store directly.
Exits 1 naming file, pointer and problem when a rule is wrong.

Judge rules cost money: each is replayed on a sample of its matching outputs (--sample), and
first a plan is printed — per judge rule the outputs matched, the sample, the verdicts the cache
already has (free), and the calls, tokens and cost of the rest at --price. Without --yes nothing
is sent and the command stops after the plan (exit 0); with --yes the sample is judged through
the configured judge, within its limits, and its failures are reported as findings.

options:
  --rules <dir|file>    a rules directory (its enabled rules), or one rule file (required)
  --since <time>        start: ISO 8601, unix ms, or a duration ago like 24h, 7d (default 7d)
  --until <time>        end, in the same forms (default: now)
  --service <name>      only outputs of this service (per-output and trace rules)
  --compare <dir|file>  a second rule set over the same period, side by side with the first
  --silences            hold back the notifications that silences held then
  --json                print one JSON document: rules[] (findings, windows, alerts[]), summary
  --url <url>           the running service (default: http://<PLUMBLINE_HOST>:<PLUMBLINE_PORT>)
  --sample <n>          judge rules: outputs judged per rule, at most (default 200)
  --price <p,r>         judge rules: US$ per million prompt, reply tokens (default 0.15,0.60)
  --yes                 judge rules: judge the sample (without it: the plan only, nothing sent)
  -h, --help            this text`,
  },
  {
    name: "demo",
    args: "[--url u] [--days 3] [--rules-dir d]",
    summary: "send a simulated agent application with failures to the running service",
    details: `Sends days of healthy traffic from two simulated agents, then broken JSON, a tool error
returned as data, a duplicate side effect and a drifting output, to the running service at --url
(default: the configured host and port), and copies two rules for these agents into
<rules dir>/plumbline-demo. Then open the UI. Needs a clone with its dev dependencies.`,
  },
  {
    name: "help",
    args: "[command]",
    summary: "this text, or a command's usage",
    details: `Prints the list of commands, or the usage of one: plumbline help backtest.`,
  },
];

const USAGE = `usage: plumbline <command> [--help]

commands:
${COMMANDS.map((c) => {
  const synopsis = `${c.name} ${c.args}`.trimEnd();
  return synopsis.length < 40
    ? `  ${synopsis.padEnd(40)} ${c.summary}`
    : `  ${synopsis}\n  ${" ".repeat(40)} ${c.summary}`;
}).join("\n")}

\`plumbline <command> --help\` describes one command.
Configuration: plumbline.config.json (or the file in PLUMBLINE_CONFIG), then PLUMBLINE_*
environment variables, which win. See README.md.`;

/** The usage of one command, or of every command under a group ("rules"). */
function usageOf(name: string): string | undefined {
  const commands = COMMANDS.filter((c) => c.name === name || c.name.startsWith(`${name} `));
  if (commands.length === 0) return undefined;
  return commands
    .map((c) => `usage: plumbline ${`${c.name} ${c.args}`.trimEnd()}\n\n${c.details}`)
    .join("\n\n");
}

const BACKTEST_OPTIONS = {
  rules: { type: "string" },
  since: { type: "string", default: "7d" },
  until: { type: "string" },
  service: { type: "string" },
  url: { type: "string" },
  compare: { type: "string" },
  silences: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  sample: { type: "string" },
  price: { type: "string" },
  yes: { type: "boolean", default: false },
} as const;

const isHelp = (arg: string) => arg === "--help" || arg === "-h";

const stdout = (text: string) => process.stdout.write(text + "\n");
const stderr = (text: string) => process.stderr.write(text + "\n");

/** The usage of one command (or group), or without a name the list of commands. */
function help(name?: string): number {
  stdout((name === undefined ? undefined : usageOf(name)) ?? USAGE);
  return 0;
}

function usageError(name: string, message: string): number {
  stderr(`plumbline ${name}: ${message}\n${usageOf(name) ?? USAGE}`);
  return 2;
}

/** Runs `parse`; a wrong command line is a usage error (exit 2), not a stack trace. */
function parseOrUsage<T>(
  name: string,
  parse: () => T,
): { ok: true; value: T } | { ok: false; code: number } {
  try {
    return { ok: true, value: parse() };
  } catch (error) {
    return { ok: false, code: usageError(name, (error as Error).message) };
  }
}

/** A command that takes only positional arguments, from `min` to `max` of them. */
function positionalArgs(
  name: string,
  args: string[],
  min: number,
  max: number,
): { ok: true; value: string[] } | { ok: false; code: number } {
  const parsed = parseOrUsage(
    name,
    () => parseArgs({ args, options: {}, allowPositionals: true, strict: true }).positionals,
  );
  if (!parsed.ok) return parsed;
  const count = parsed.value.length;
  if (count < min) return { ok: false, code: usageError(name, "missing arguments") };
  if (count > max) {
    const message = `unexpected argument "${parsed.value[max] ?? ""}"`;
    return { ok: false, code: usageError(name, message) };
  }
  return parsed;
}

async function main(argv: string[]): Promise<number> {
  const [command = "help", ...rest] = argv;
  if (isHelp(command)) return help();
  // A command and its subcommand; `--help` anywhere after them asks for their usage.
  const sub = command === "rules" || command === "config" ? rest[0] : undefined;
  const name = sub !== undefined && usageOf(`${command} ${sub}`) ? `${command} ${sub}` : command;
  const args = name === command ? rest : rest.slice(1);
  if (name !== "help" && usageOf(name) !== undefined && args.some(isHelp)) return help(name);

  switch (name) {
    case "help": {
      // `help --help` is help's own usage; `help backtest --help` is backtest's.
      const topic = args.filter((arg) => !isHelp(arg)).join(" ");
      if (topic === "") return args.length > 0 ? help("help") : help();
      if (usageOf(topic) === undefined) return usageError("help", `unknown command "${topic}"`);
      return help(topic);
    }
    case "serve": {
      const parsed = positionalArgs(name, args, 0, 0);
      return parsed.ok ? serveCommand() : parsed.code;
    }
    case "config check": {
      const parsed = positionalArgs(name, args, 0, 0);
      return parsed.ok ? configCheck() : parsed.code;
    }
    case "rules check": {
      const parsed = positionalArgs(name, args, 0, 1);
      if (!parsed.ok) return parsed.code;
      const { rulesCheck } = await import("./rules-commands.ts");
      return rulesCheck(parsed.value[0] ?? loadConfig(process.env).rulesDir);
    }
    case "rules test": {
      const parsed = positionalArgs(name, args, 2, 2);
      if (!parsed.ok) return parsed.code;
      const { rulesTest } = await import("./rules-commands.ts");
      const [ruleFile = "", examplesFile = ""] = parsed.value;
      return rulesTest(ruleFile, examplesFile);
    }
    case "backtest": {
      const parsed = parseOrUsage(
        name,
        () => parseArgs({ args, options: BACKTEST_OPTIONS, strict: true }).values,
      );
      if (!parsed.ok) return parsed.code;
      const { rules, since, until, service, url, compare, silences, json, sample, price, yes } =
        parsed.value;
      if (rules === undefined) return usageError(name, "--rules <dir or file> is required");
      const { backtestCommand } = await import("./backtest-command.ts");
      return backtestCommand(
        { rules, since, until, service, url, compare, silences, json, sample, price, yes },
        loadConfig(process.env),
      );
    }
    case "demo":
      return (await import("./demo-command.ts")).demoCommand(args);
    case "rules":
    case "config": {
      const message = sub === undefined ? "a subcommand is needed" : `unknown subcommand "${sub}"`;
      return usageError(command, message);
    }
    default:
      stderr(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

function configCheck(): number {
  const config = loadConfig(process.env);
  process.stdout.write(JSON.stringify(maskSecrets(config), null, 2) + "\n");
  return 0;
}

async function serveCommand(): Promise<number> {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel);
  // Loaded here, not at the top: the other commands need neither chDB nor the servers.
  const { startService } = await import("../service/service.ts");
  const service = await startService(config, log);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info("shutting down", { signal });
      resolve();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  await service.close();
  log.info("stopped");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A configuration problem is the user's to fix: its message says what. Anything else is a
    // bug or broken infrastructure, and its stack is what a report needs.
    if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else
      process.stderr.write(
        `plumbline: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    process.exit(1);
  },
);
