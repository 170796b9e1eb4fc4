/**
 * An alert's identity: the rule id and the values of its grouping labels. Findings of one rule
 * with the same group labels feed one alert.
 */

import { createHash } from "node:crypto";
import type { Rule } from "../rules/rule.ts";
import {
  CONVERSATION_LABEL,
  type OutputLabelName,
  type ParsedAlertSpec,
} from "../rules/alert-spec.ts";
import type { OutputLabels } from "../rules/findings.ts";

/**
 * The group labels of a finding, in `spec.groupBy` order: output labels from the finding's
 * labels, `conversation` from its conversation id (conversation rules' findings; "" for the
 * others), any other name from the rule's labels. An output label wins over a rule label of
 * the same name. A missing value is "".
 */
export function groupLabelsOf(
  spec: Pick<ParsedAlertSpec, "groupBy">,
  rule: Pick<Rule, "labels">,
  output: OutputLabels,
  conversationId?: string,
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const name of spec.groupBy) {
    labels[name] =
      name === CONVERSATION_LABEL
        ? (conversationId ?? "")
        : Object.hasOwn(output, name)
          ? output[name as OutputLabelName]
          : (rule.labels[name] ?? "");
  }
  return labels;
}

/**
 * sha256 (first 16 hex digits) of the rule id and the group labels in a canonical form: names
 * sorted, and empty values left out, as in Prometheus, where an empty label is no label.
 */
export function fingerprint(ruleId: string, groupLabels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(groupLabels)
    .filter(([, value]) => value !== "")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256")
    .update(JSON.stringify([ruleId, pairs]))
    .digest("hex")
    .slice(0, 16);
}
