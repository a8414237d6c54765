/** The PromQL editor: CodeMirror 6 with the Prometheus project's PromQL language support. */
import { EditorState, Prec } from "@codemirror/state";
import { EditorView, keymap, placeholder, highlightSpecialChars, drawSelection } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from "@codemirror/commands";
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, completionStatus } from "@codemirror/autocomplete";
import { bracketMatching, syntaxHighlighting, HighlightStyle } from "@codemirror/language";
import { tags } from "@lezer/highlight";
import { lintKeymap } from "@codemirror/lint";
import { PromQLExtension } from "@prometheus-io/codemirror-promql";
import { config } from "./api.ts";

let shared: PromQLExtension | undefined;

/** PromQL colours: metric names, label names, strings, numbers and durations, functions and keywords apart. */
const promqlHighlight = HighlightStyle.define([
  { tag: tags.name, color: "#000" },
  { tag: tags.number, color: "#09885a" },
  { tag: tags.string, color: "#a31515" },
  { tag: tags.keyword, color: "#008080" },
  { tag: tags.function(tags.variableName), color: "#008080" },
  { tag: tags.labelName, color: "#800000" },
  { tag: tags.operator, color: "#af00db" },
  { tag: tags.modifier, color: "#af00db" },
  { tag: tags.comment, color: "#888", fontStyle: "italic" },
  { tag: tags.invalid, color: "#f00" },
]);

/** One PromQL extension (and so one metadata cache) for every editor on the page. */
function promql(): PromQLExtension {
  shared ??= new PromQLExtension().setComplete({
    remote: { url: `${location.origin}${config.prefix}`, httpMethod: "GET", cache: { maxAge: 60_000 } },
  });
  return shared;
}

export interface EditorHandle {
  view: EditorView;
  value(): string;
  setValue(text: string): void;
}

/** Mounts an editor in `parent`; Enter runs `onExecute`, Shift+Enter adds a line. */
export function createEditor(parent: HTMLElement, initial: string, onChange: (text: string) => void, onExecute: () => void): EditorHandle {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: initial,
      extensions: [
        highlightSpecialChars(),
        history(),
        drawSelection(),
        closeBrackets(),
        bracketMatching(),
        autocompletion(),
        syntaxHighlighting(promqlHighlight),
        placeholder("Enter expression (press Shift+Enter for newlines)"),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ "aria-label": "Expression (PromQL)" }),
        Prec.highest(keymap.of([
          { key: "Enter", run: (v) => { if (completionStatus(v.state) === "active") return false; onExecute(); return true; } },
          { key: "Shift-Enter", run: insertNewlineAndIndent },
        ])),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
        promql().asExtension(),
        EditorView.updateListener.of((u) => { if (u.docChanged) onChange(u.state.doc.toString()); }),
      ],
    }),
  });
  return {
    view,
    value: () => view.state.doc.toString(),
    setValue: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
  };
}
