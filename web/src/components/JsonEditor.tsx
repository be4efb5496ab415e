/**
 * A JSON editor (CodeMirror 6): syntax errors underlined as you type, and errors the API named
 * by JSON path (`live.leverage`) drawn at that value and listed under the editor.
 */
import { json, jsonParseLinter } from '@codemirror/lang-json';
import { lintGutter, linter, type Diagnostic } from '@codemirror/lint';
import { Compartment, EditorState, StateEffect } from '@codemirror/state';
import { Anchor, Box, List, Text } from '@mantine/core';
import { basicSetup, EditorView } from 'codemirror';
import { useEffect, useMemo, useRef } from 'react';
import { locateJsonPath } from './json-paths';

export interface JsonIssue {
  /** JSON path inside the document, e.g. `live.leverage` ('' = the whole document). */
  path: string;
  message: string;
}

export interface JsonEditorProps {
  value: string;
  onChange?: (text: string) => void;
  readOnly?: boolean;
  /** Errors to draw at their paths (e.g. from the API); shown until the caller clears them. */
  issues?: JsonIssue[];
  /** Accessible name of the editing area. */
  label: string;
  height?: string;
}

/** The JSON syntax error of a text, or null when it parses. */
export function jsonSyntaxError(text: string): string | null {
  try {
    JSON.parse(text);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Dispatched when the caller's issues change: the linter runs again to draw them. */
const issuesChanged = StateEffect.define<null>();

const theme = EditorView.theme({
  '&': { fontSize: '13px', border: '1px solid var(--mantine-color-default-border)', borderRadius: 'var(--mantine-radius-sm)', backgroundColor: 'var(--mantine-color-body)', color: 'var(--mantine-color-text)' },
  '&.cm-focused': { outline: '2px solid var(--mantine-primary-color-filled)' },
  '.cm-scroller': { fontFamily: 'var(--mantine-font-family-monospace)' },
  '.cm-gutters': { backgroundColor: 'var(--mantine-color-default)', color: 'var(--mantine-color-dimmed)', borderRight: '1px solid var(--mantine-color-default-border)' },
  '.cm-activeLineGutter, .cm-activeLine': { backgroundColor: 'var(--mantine-color-default-hover)' },
});

export function JsonEditor({ value, onChange, readOnly = false, issues = [], label, height = '420px' }: JsonEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const issuesRef = useRef(issues);
  const onChangeRef = useRef(onChange);
  /** What the editor is created with; later changes arrive through the effects below. */
  const initial = useRef({ value, readOnly, label, height });
  const editable = useMemo(() => new Compartment(), []);

  useEffect(() => {
    onChangeRef.current = onChange;
  }, [onChange]);

  useEffect(() => {
    if (!host.current) return;
    const { value, readOnly, label, height } = initial.current;
    const parseLint = jsonParseLinter();
    const apiLint = (v: EditorView): Diagnostic[] => {
      const text = v.state.doc.toString();
      return issuesRef.current.map((issue) => {
        const range = locateJsonPath(text, issue.path) ?? { from: 0, to: Math.min(1, text.length) };
        return { from: range.from, to: Math.max(range.to, range.from), severity: 'error', message: `${issue.path || 'config'}: ${issue.message}`, source: 'server' };
      });
    };
    const created = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          json(),
          lintGutter(),
          linter((v) => [...parseLint(v), ...apiLint(v)], { delay: 300, needsRefresh: (update) => update.transactions.some((tr) => tr.effects.some((e) => e.is(issuesChanged))) }),
          theme,
          EditorView.theme({ '.cm-scroller': { maxHeight: height, minHeight: '160px' } }),
          // tabindex: keyboard users reach (and scroll) the text even when it is read-only.
          EditorView.contentAttributes.of({ 'aria-label': label, tabindex: '0' }),
          editable.of([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) onChangeRef.current?.(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = created;
    return () => {
      created.destroy();
      view.current = null;
    };
  }, [editable]);

  // A value from outside (load, restore) replaces the text; typing does not come back here.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: editable.reconfigure([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]) });
  }, [readOnly, editable]);

  useEffect(() => {
    issuesRef.current = issues;
    view.current?.dispatch({ effects: issuesChanged.of(null) });
  }, [issues]);

  const syntax = jsonSyntaxError(value);
  const jumpTo = (path: string) => {
    const v = view.current;
    if (!v) return;
    const range = locateJsonPath(v.state.doc.toString(), path);
    if (!range) return;
    v.dispatch({ selection: { anchor: range.from, head: range.to }, scrollIntoView: true });
    v.focus();
  };

  return (
    <Box>
      <div ref={host} data-testid="json-editor" />
      {syntax && (
        <Text size="sm" c="red.8" mt={4} role="alert">
          JSON syntax error: {syntax}
        </Text>
      )}
      {issues.length > 0 && (
        <Box role="alert" aria-label="Config errors">
          <List size="sm" mt={4} spacing={2} c="red.8">
            {issues.map((issue) => (
              <List.Item key={`${issue.path}:${issue.message}`}>
                <Anchor component="button" type="button" size="sm" c="red.8" onClick={() => jumpTo(issue.path)} data-path={issue.path}>
                  {issue.path || 'config'}
                </Anchor>
                : {issue.message}
              </List.Item>
            ))}
          </List>
        </Box>
      )}
    </Box>
  );
}

export default JsonEditor;
