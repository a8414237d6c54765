/**
 * The one error type of the template room. Messages follow Go's
 * text/template wording so that users see what Prometheus and Alertmanager
 * would show them:
 *
 * - parse: `template: NAME:LINE: unexpected "}" in operand`
 * - execution: `template: NAME:LINE:COL: executing "NAME" at <.foo>: …`
 */
export class TemplateError extends Error {
  constructor(
    message: string,
    /** Whether the template text is malformed ("parse") or failed while running ("exec"). */
    readonly kind: "parse" | "exec",
  ) {
    super(message);
    this.name = "TemplateError";
  }
}
