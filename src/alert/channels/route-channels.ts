/**
 * Which channels an alert goes to: the routes in order, first match wins unless it says
 * `continue`, and `defaultChannels` when none matched (Alertmanager's routing tree, one level).
 */

import { compilePattern } from "../../rules/pattern.ts";
import { issuesAreBugs } from "../../rules/rule-issues.ts";
import type { Severity } from "../../rules/rule.ts";
import type { Alert } from "../types.ts";
import type { RouteConfig } from "./channel-config.ts";

export type RoutedAlert = Pick<Alert, "severity" | "labels">;

type AlertTest = (alert: RoutedAlert) => boolean;

interface CompiledRoute {
  test: AlertTest;
  channels: readonly string[];
  continue: boolean;
}

/** Compiles the routes once; the result answers for every alert. */
export function compileRoutes(
  routes: readonly RouteConfig[],
  defaultChannels: readonly string[],
): (alert: RoutedAlert) => string[] {
  const compiled = routes.map(compileRoute);
  const defaults = [...new Set(defaultChannels)];
  return (alert) => {
    const channels = new Set<string>();
    let matched = false;
    for (const route of compiled) {
      if (!route.test(alert)) continue;
      matched = true;
      for (const channel of route.channels) channels.add(channel);
      if (!route.continue) break;
    }
    return matched ? [...channels] : [...defaults];
  };
}

type Router = ReturnType<typeof compileRoutes>;
const routers = new WeakMap<readonly RouteConfig[], Map<string, Router>>();

/**
 * The channels for one alert, in route order, each once. Compiles `routes` on first use and
 * keeps the result for as long as that array lives (`compileRoutes` to hold it yourself).
 */
export function routeChannels(
  routes: readonly RouteConfig[],
  defaultChannels: readonly string[],
  alert: RoutedAlert,
): string[] {
  let byDefaults = routers.get(routes);
  if (byDefaults === undefined) {
    byDefaults = new Map();
    routers.set(routes, byDefaults);
  }
  // Channel names cannot hold a space, so this key is unambiguous.
  const key = defaultChannels.join(" ");
  let router = byDefaults.get(key);
  if (router === undefined) {
    router = compileRoutes(routes, defaultChannels);
    byDefaults.set(key, router);
  }
  return router(alert);
}

/** Route patterns were checked with the config (channel-config.ts): a problem here is a bug. */
const ROUTES_ARE_VALIDATED = issuesAreBugs("alert routes");

function compileRoute(route: RouteConfig): CompiledRoute {
  const tests: AlertTest[] = [];
  const severity = route.match?.severity;
  if (severity !== undefined) {
    const wanted = new Set<Severity>(typeof severity === "string" ? [severity] : severity);
    tests.push((alert) => wanted.has(alert.severity));
  }
  for (const [label, pattern] of Object.entries(route.match?.labels ?? {})) {
    const test = compilePattern(pattern, ROUTES_ARE_VALIDATED);
    // A matcher needs the label: `env: "*"` means "has an env", not "anything at all".
    tests.push((alert) => {
      const value = Object.hasOwn(alert.labels, label) ? alert.labels[label] : undefined;
      return value !== undefined && test(value);
    });
  }
  return {
    test: (alert) => tests.every((test) => test(alert)),
    channels: route.channels,
    continue: route.continue,
  };
}
