/**
 * Deploy a stack from a pasted Compose file (`POST /api/stacks/{name}/compose`): the server
 * translates it as `skiff stack deploy` would (reading no files of its own) and deploys it whole
 * or not at all. Each refusal names `FILE:LINE: …`, and is shown at that line of the editor.
 */
import { useState } from 'react';
import { ApiError, apiRequest } from '../api/http.ts';
import { LineEditor } from '../components/line-editor.tsx';
import { href } from '../router.ts';
import { lineErrors } from './compose-errors.ts';

/** The file name the API's messages use for what is pasted here. */
const FILE = 'compose.yml';
const STACK_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const EXAMPLE = `services:
  web:
    image: skiff-demo:v1
    deploy:
      replicas: 2
`;

interface ComposeDeployView {
  readonly name: string;
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly unchanged: readonly string[];
  readonly removed: readonly string[];
  readonly warnings: readonly string[];
}

export function ComposeDeploy() {
  const [stack, setStack] = useState('');
  const [content, setContent] = useState(EXAMPLE);
  const [prune, setPrune] = useState(false);
  const [messages, setMessages] = useState<readonly string[]>([]);
  const [nameProblem, setNameProblem] = useState<string | null>(null);
  const [result, setResult] = useState<ComposeDeployView | null>(null);
  const [busy, setBusy] = useState(false);
  const errors = lineErrors(messages, FILE, content.split('\n').length);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setMessages([]);
    setResult(null);
    const name = stack.trim();
    if (!STACK_NAME.test(name)) {
      setNameProblem('lowercase letters, digits and dashes');
      return;
    }
    setNameProblem(null);
    setBusy(true);
    try {
      setResult(
        await apiRequest<ComposeDeployView>('POST', `/api/stacks/${encodeURIComponent(name)}/compose`, {
          body: { file: FILE, content, prune },
        }),
      );
    } catch (e) {
      if (e instanceof ApiError) setMessages(e.details && e.details.length > 0 ? e.details : [e.message]);
      else setMessages([e instanceof Error ? e.message : String(e)]);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} className="deploy" noValidate aria-label="Deploy a Compose stack">
      {errors.general.length > 0 && (
        <ul className="error" role="alert" aria-label="Problems">
          {errors.general.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      )}
      <div className={`field${nameProblem ? ' invalid' : ''}`}>
        <label htmlFor="compose-stack">Stack name</label>
        <input
          id="compose-stack"
          value={stack}
          placeholder="shop"
          autoComplete="off"
          required
          aria-invalid={nameProblem ? true : undefined}
          aria-describedby="compose-stack-error"
          onChange={(e) => setStack(e.target.value)}
        />
        <div id="compose-stack-error" className="field-error" role={nameProblem ? 'alert' : undefined}>
          {nameProblem}
        </div>
        <span className="muted">Service web of stack shop is the service shop-web.</span>
      </div>
      <div className="field">
        <label htmlFor="compose-file">Compose file ({FILE})</label>
        <LineEditor
          id="compose-file"
          value={content}
          onChange={setContent}
          errors={errors.byLine}
          describedBy="compose-file-errors"
        />
        <span className="muted">
          The server reads no files: env_file and a secret's file: need skiff stack deploy; give values with
          content: or environment:.
        </span>
      </div>
      <label className="check">
        <input type="checkbox" checked={prune} onChange={(e) => setPrune(e.target.checked)} /> Remove the
        stack's services this file no longer has
      </label>
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Deploying…' : 'Deploy stack'}
        </button>
      </div>
      {result && <StackResult result={result} />}
    </form>
  );
}

function StackResult({ result }: { result: ComposeDeployView }) {
  const list = (label: string, names: readonly string[]) =>
    names.length > 0 && (
      <li>
        {label}:{' '}
        {names.map((name, i) => (
          <span key={name}>
            {i > 0 && ', '}
            <a href={href(['services', name])}>{name}</a>
          </span>
        ))}
      </li>
    );
  return (
    <output className="result" data-testid="stack-result">
      <p>
        Stack {result.name} deployed. <a href={href(['services'], { q: `${result.name}-` })}>Its services</a>
      </p>
      <ul>
        {list('created', result.created)}
        {list('updated', result.updated)}
        {list('unchanged', result.unchanged)}
        {list('removed', result.removed)}
      </ul>
      {result.warnings.length > 0 && (
        <ul className="muted" aria-label="Warnings">
          {result.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
    </output>
  );
}
