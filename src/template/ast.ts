/**
 * Parse trees of Go templates. Every node records `pos`, its offset in the
 * text of the template it was parsed from, so execution errors can name
 * `NAME:LINE:COL`. `nodeString` prints a node back the way Go's
 * `Node.String()` does, for the `at <…>` part of execution errors.
 */

/** An operand or command word. */
export type ArgNode =
  | { kind: "field"; pos: number; ident: string[] }
  | { kind: "variable"; pos: number; ident: string[] }
  | { kind: "chain"; pos: number; node: ArgNode; field: string[] }
  | { kind: "identifier"; pos: number; name: string }
  | { kind: "dot"; pos: number }
  | { kind: "nil"; pos: number }
  | { kind: "bool"; pos: number; value: boolean }
  | NumberNode
  | { kind: "string"; pos: number; quoted: string; text: string }
  | PipeNode;

/** A numeric constant: Go keeps both an int and a float reading when they exist. */
export interface NumberNode {
  kind: "number";
  pos: number;
  text: string;
  isInt: boolean;
  isFloat: boolean;
  /** A character constant like `'a'` (an int of rune type). */
  isRune: boolean;
  int: bigint;
  float: number;
}

/** One stage of a pipeline: a function, method, field or constant and its arguments. */
export interface CommandNode {
  kind: "command";
  pos: number;
  args: ArgNode[];
}

/** `$x := cmd | cmd …` — declarations or assignments, then commands. */
export interface PipeNode {
  kind: "pipe";
  pos: number;
  line: number;
  isAssign: boolean;
  decl: { pos: number; ident: string[] }[];
  cmds: CommandNode[];
}

/** A template body node. */
export type Node =
  | { kind: "text"; pos: number; text: string }
  | { kind: "comment"; pos: number }
  | { kind: "action"; pos: number; line: number; pipe: PipeNode }
  | ControlNode
  | TemplateNode
  | { kind: "break" | "continue"; pos: number; line: number };

/** `{{if}}`, `{{with}}` or `{{range}}` with its body and optional else branch. */
export interface ControlNode {
  kind: "if" | "with" | "range";
  pos: number;
  line: number;
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | null;
}

/** `{{template "name" pipeline}}` (also what `{{block}}` leaves in place). */
export interface TemplateNode {
  kind: "template";
  pos: number;
  line: number;
  name: string;
  pipe: PipeNode | null;
}

/** A sequence of nodes. */
export interface ListNode {
  kind: "list";
  pos: number;
  nodes: Node[];
}

/** A parsed template: its root list, plus the text and name of the parse that produced it (for error positions). */
export interface Tree {
  name: string;
  parseName: string;
  text: string;
  root: ListNode;
}

/** Go's `String()` of an operand, command or pipeline. */
export function nodeString(n: ArgNode | CommandNode | Node | ListNode): string {
  switch (n.kind) {
    case "field":
      return `.${n.ident.join(".")}`;
    case "variable":
      return n.ident.join(".");
    case "chain": {
      const inner = n.node.kind === "pipe" ? `(${nodeString(n.node)})` : nodeString(n.node);
      return `${inner}.${n.field.join(".")}`;
    }
    case "identifier":
      return n.name;
    case "dot":
      return ".";
    case "nil":
      return "nil";
    case "bool":
      return String(n.value);
    case "number":
      return n.text;
    case "string":
      return n.quoted;
    case "pipe": {
      let s = "";
      if (n.decl.length > 0) s = `${n.decl.map((d) => d.ident.join(".")).join(", ")} ${n.isAssign ? "=" : ":="} `;
      return s + n.cmds.map(nodeString).join(" | ");
    }
    case "command":
      return n.args.map((a) => (a.kind === "pipe" ? `(${nodeString(a)})` : nodeString(a))).join(" ");
    case "text":
      return n.text;
    case "comment":
      return "{{/* */}}";
    case "action":
      return `{{${nodeString(n.pipe)}}}`;
    case "if":
    case "with":
    case "range": {
      const elsePart = n.elseList ? `{{else}}${nodeString(n.elseList)}` : "";
      return `{{${n.kind} ${nodeString(n.pipe)}}}${nodeString(n.list)}${elsePart}{{end}}`;
    }
    case "template":
      return n.pipe ? `{{template ${JSON.stringify(n.name)} ${nodeString(n.pipe)}}}` : `{{template ${JSON.stringify(n.name)}}}`;
    case "break":
    case "continue":
      return `{{${n.kind}}}`;
    case "list":
      return n.nodes.map(nodeString).join("");
  }
}
