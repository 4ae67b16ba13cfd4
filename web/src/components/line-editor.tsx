/**
 * A plain-text editor with numbered lines, for a Compose file: a textarea (lines never wrap, so
 * the gutter's numbers stay beside them) and a gutter that marks each line an error names, with
 * that line's messages beside its number and under the editor. A message's line link selects the
 * line in the editor, so the keyboard gets there as the mouse does.
 */
import { useRef } from 'react';
import { lineSpan } from '../views/compose-errors.ts';

export interface LineEditorProps {
  readonly id: string;
  readonly value: string;
  readonly onChange: (value: string) => void;
  readonly errors: ReadonlyMap<number, readonly string[]>;
  readonly rows?: number;
  readonly describedBy?: string;
}

export function LineEditor({ id, value, onChange, errors, rows = 18, describedBy }: LineEditorProps) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const count = value.split('\n').length;
  const goTo = (line: number) => {
    const element = area.current;
    if (!element) return;
    const { start, end } = lineSpan(value, line);
    element.focus();
    element.setSelectionRange(start, end);
    // Lines are of one height: scroll the line into the middle of the box.
    const lineHeight = element.scrollHeight / Math.max(1, count);
    element.scrollTop = Math.max(0, (line - 1) * lineHeight - element.clientHeight / 2);
  };
  return (
    <div className="line-editor-wrap">
      <div className={`line-editor${errors.size > 0 ? ' invalid' : ''}`}>
        <div className="gutter mono" ref={gutter} aria-hidden="true">
          {Array.from({ length: count }, (_, i) => {
            const line = i + 1;
            const messages = errors.get(line);
            return (
              <div
                key={line}
                className={messages ? 'gutter-line error-line' : 'gutter-line'}
                data-error-line={messages ? line : undefined}
                title={messages?.join('\n')}
              >
                {messages ? '● ' : ''}
                {line}
              </div>
            );
          })}
        </div>
        <textarea
          id={id}
          ref={area}
          className="mono"
          rows={rows}
          wrap="off"
          spellCheck={false}
          value={value}
          aria-invalid={errors.size > 0 || undefined}
          aria-describedby={describedBy}
          onChange={(e) => onChange(e.target.value)}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
          }}
        />
      </div>
      {errors.size > 0 && (
        <ul className="line-errors error" id={describedBy} role="alert" aria-label="Problems by line">
          {[...errors]
            .sort(([a], [b]) => a - b)
            .flatMap(([line, messages]) =>
              messages.map((message) => (
                <li key={`${line}:${message}`} data-line={line}>
                  <button type="button" className="link" onClick={() => goTo(line)}>
                    line {line}
                  </button>{' '}
                  {message}
                </li>
              )),
            )}
        </ul>
      )}
    </div>
  );
}
