/**
 * `plumbline <command>`: serve (the default for npm start) and config check.
 */

import { ConfigError, loadConfig, maskSecrets } from "../config/index.ts";
import { createLogger } from "../service/log.ts";

const USAGE = `usage: plumbline <command>

commands:
  serve          run the service (OTLP/HTTP, OTLP/gRPC, API)
  config check   print the resolved configuration, secrets masked, and exit
  rules check [dir]                        validate every rule file (default: the rules directory)
  rules test <rule.json> <outputs.jsonl>   run one rule on example outputs, pass/fail per line
  backtest --rules <dir> [--since 7d] [--until t] [--service s] [--url http://host:4318]
                 replay rules over stored outputs and print what each would have found
  help           this text

Configuration: plumbline.config.json (or the file in PLUMBLINE_CONFIG), then PLUMBLINE_*
environment variables, which win. See README.md.`;

async function main(argv: string[]): Promise<number> {
  const [command = "help", sub, ...rest] = argv;
  switch (command) {
    case "rules": {
      const { rulesCheck, rulesTest } = await import("./rules-commands.ts");
      if (sub === "check") return rulesCheck(rest[0] ?? loadConfig(process.env).rulesDir);
      if (sub === "test" && rest.length === 2)
        return rulesTest(rest[0] as string, rest[1] as string);
      process.stderr.write(
        `usage: plumbline rules check [dir] | rules test <rule.json> <outputs.jsonl>\n`,
      );
      return 2;
    }
    case "backtest": {
      const { backtestCommand } = await import("./rules-commands.ts");
      return backtestCommand(argv.slice(1), loadConfig(process.env));
    }
    case "serve":
      return serveCommand();
    case "config":
      if (sub === "check") return configCheck();
      process.stderr.write(`unknown config subcommand "${sub ?? ""}"\n${USAGE}\n`);
      return 2;
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE + "\n");
      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
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
    if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else
      process.stderr.write(
        `plumbline: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    process.exit(1);
  },
);
