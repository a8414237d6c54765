/**
 * The two uses rules make of the template room: checking alert label and
 * annotation templates when a rule file loads, and expanding them for each
 * alert at evaluation.
 */
import { checkRuleTemplate, expandRuleTemplate, type TemplateQueryFunc } from "../template/index.ts";

/** Why `text` is not a valid label or annotation template of alerting rule `ruleName`, or undefined when it parses. */
export function templateProblem(ruleName: string, text: string): string | undefined {
  try {
    checkRuleTemplate(ruleName, text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** What an alert template sees besides the text. */
export interface AlertTemplateInput {
  /** The series labels of the sample that triggered the alert. */
  labels: Readonly<Record<string, string>>;
  externalLabels: Readonly<Record<string, string>>;
  externalURL: string;
  value: number;
  /** Backs the `query` template function, evaluated at the rule's evaluation time. */
  query: TemplateQueryFunc;
}

/**
 * Expands one alert label or annotation template; a failure yields
 * Prometheus's `<error expanding template: …>` text and is reported to
 * `onError`.
 */
export async function expandAlertTemplate(
  ruleName: string,
  text: string,
  input: AlertTemplateInput,
  onError: (err: Error) => void,
): Promise<string> {
  if (!text.includes("{{")) return text;
  try {
    return await expandRuleTemplate(`__alert_${ruleName}`, text, input, { query: input.query, externalURL: input.externalURL });
  } catch (e) {
    onError(e as Error);
    return `<error expanding template: ${(e as Error).message}>`;
  }
}
