/**
 * Deploy from a form, a pasted JSON spec, or a Compose file (compose-deploy.tsx: a stack). The API's 400/403/409 names each field it refuses
 * (`ports.0.host_port: …`); each message is shown at the form field it belongs to, the rest above
 * the form.
 */
import type { ReactNode } from 'react';
import { useState } from 'react';
import type { FieldErrors } from '../api/field-errors.ts';
import { fieldErrors, messagesAt } from '../api/field-errors.ts';
import { ApiError, apiRequest } from '../api/http.ts';
import type { ServiceView } from '../api/types.ts';
import { href, navigate, replaceParam, useRoute } from '../router.ts';
import { ComposeDeploy } from './compose-deploy.tsx';
import type { DeployForm } from './deploy-spec.ts';
import { EMPTY_FORM, FIELD_PATHS, specFromForm } from './deploy-spec.ts';

export function DeployView() {
  const { params } = useRoute();
  const asked = params.get('mode');
  const mode = asked === 'json' || asked === 'compose' ? asked : 'form';
  const [form, setForm] = useState<DeployForm>(EMPTY_FORM);
  const [json, setJson] = useState('{\n  "name": "",\n  "image": "",\n  "replicas": 1\n}');
  const [errors, setErrors] = useState<FieldErrors | undefined>();
  const [local, setLocal] = useState<Partial<Record<keyof DeployForm, string>>>({});
  const [busy, setBusy] = useState(false);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setErrors(undefined);
    let spec: unknown;
    if (mode === 'form') {
      const made = specFromForm(form);
      setLocal(made.problems);
      if (Object.keys(made.problems).length > 0) return;
      spec = made.spec;
    } else {
      try {
        spec = JSON.parse(json);
      } catch (e) {
        setErrors(
          fieldErrors(`the spec is not JSON: ${e instanceof Error ? e.message : String(e)}`, undefined),
        );
        return;
      }
    }
    setBusy(true);
    try {
      const service = await apiRequest<ServiceView>('POST', '/api/deploy', { body: spec });
      navigate(href(['services', service.name]));
    } catch (e) {
      if (e instanceof ApiError) setErrors(fieldErrors(e.message, e.details));
      else setErrors(fieldErrors(e instanceof Error ? e.message : String(e), undefined));
    } finally {
      setBusy(false);
    }
  };

  const shownAtFields = new Set<string>();
  const at = (field: keyof DeployForm) => {
    const path = FIELD_PATHS[field];
    const messages = mode === 'form' ? messagesAt(errors, path) : [];
    if (messages.length > 0) shownAtFields.add(path);
    const own = local[field];
    return own ? [own, ...messages] : messages;
  };
  const input = (
    field: keyof DeployForm,
    label: string,
    props: React.InputHTMLAttributes<HTMLInputElement> = {},
  ) => (
    <Field label={label} id={`deploy-${field}`} messages={at(field)}>
      <input
        id={`deploy-${field}`}
        name={field}
        value={form[field]}
        onChange={(e) => setForm({ ...form, [field]: e.target.value })}
        aria-invalid={at(field).length > 0 || undefined}
        aria-describedby={`deploy-${field}-error`}
        {...props}
      />
    </Field>
  );

  const fields = (
    <>
      {input('name', 'Name', { required: true, placeholder: 'api-server', autoComplete: 'off' })}
      {input('image', 'Image', { required: true, placeholder: 'skiff-demo:v1' })}
      {input('replicas', 'Replicas', { inputMode: 'numeric' })}
      {input('containerPort', 'Container port', { inputMode: 'numeric', placeholder: '8080' })}
      {input('hostPort', 'Published port', { inputMode: 'numeric' })}
      {input('cpus', 'CPUs', { inputMode: 'decimal', placeholder: '0.5' })}
      {input('memoryMb', 'Memory (MiB)', { inputMode: 'numeric', placeholder: '64' })}
      <Field label="Environment (KEY=value per line)" id="deploy-env" messages={at('env')}>
        <textarea
          id="deploy-env"
          value={form.env}
          rows={3}
          onChange={(e) => setForm({ ...form, env: e.target.value })}
          aria-describedby="deploy-env-error"
        />
      </Field>
      <Field label="Command (one argument per line)" id="deploy-command" messages={at('command')}>
        <textarea
          id="deploy-command"
          value={form.command}
          rows={3}
          onChange={(e) => setForm({ ...form, command: e.target.value })}
          aria-describedby="deploy-command-error"
        />
      </Field>
      <Field label="Health check" id="deploy-healthType" messages={at('healthType')}>
        <select
          id="deploy-healthType"
          value={form.healthType}
          onChange={(e) => setForm({ ...form, healthType: e.target.value as DeployForm['healthType'] })}
          aria-describedby="deploy-healthType-error"
        >
          <option value="">none</option>
          <option value="http">http</option>
          <option value="tcp">tcp</option>
          <option value="exec">exec</option>
        </select>
      </Field>
      {form.healthType !== '' &&
        input('healthTarget', form.healthType === 'exec' ? 'Check command (sh -c)' : 'Endpoint or port', {
          placeholder: form.healthType === 'http' ? 'http://localhost:8080/health' : '8080',
        })}
      {form.healthType !== '' && input('healthInterval', 'Interval', { placeholder: '10s' })}
    </>
  );

  const general = errors
    ? [
        ...errors.general,
        ...[...errors.byField]
          .filter(([path]) => ![...shownAtFields].some((f) => path === f || path.startsWith(`${f}.`)))
          .flatMap(([path, ms]) => ms.map((m) => `${path}: ${m}`)),
      ]
    : [];

  return (
    <section aria-labelledby="deploy-title">
      <h1 id="deploy-title">Deploy</h1>
      <nav className="tabs" aria-label="Deploy from">
        <a href={href(['deploy'])} aria-current={mode === 'form' ? 'page' : undefined}>
          form
        </a>
        <a href={href(['deploy'], { mode: 'json' })} aria-current={mode === 'json' ? 'page' : undefined}>
          JSON spec
        </a>
        <a
          href={href(['deploy'], { mode: 'compose' })}
          aria-current={mode === 'compose' ? 'page' : undefined}
        >
          Compose stack
        </a>
      </nav>
      {mode === 'compose' && <ComposeDeploy />}
      {mode !== 'compose' && (
        <form onSubmit={submit} className="deploy" noValidate>
          {general.length > 0 && (
            <ul className="error" role="alert" aria-label="Problems">
              {general.map((m) => (
                <li key={m}>{m}</li>
              ))}
            </ul>
          )}
          {mode === 'form' ? (
            fields
          ) : (
            <Field label="Service spec (JSON)" id="deploy-json" messages={[]}>
              <textarea
                id="deploy-json"
                className="mono"
                rows={16}
                value={json}
                onChange={(e) => setJson(e.target.value)}
              />
            </Field>
          )}
          <div className="actions">
            <button type="submit" disabled={busy}>
              {busy ? 'Deploying…' : 'Deploy'}
            </button>
            {mode === 'form' && (
              <button
                type="button"
                onClick={() => {
                  setJson(JSON.stringify(specFromForm(form).spec, null, 2));
                  replaceParam('mode', 'json');
                }}
              >
                Edit as JSON
              </button>
            )}
          </div>
        </form>
      )}
    </section>
  );
}

function Field({
  label,
  id,
  messages,
  children,
}: {
  label: string;
  id: string;
  messages: readonly string[];
  children: ReactNode;
}) {
  return (
    <div className={`field${messages.length > 0 ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      <div id={`${id}-error`} className="field-error" role={messages.length > 0 ? 'alert' : undefined}>
        {messages.map((m) => (
          <div key={m}>{m}</div>
        ))}
      </div>
    </div>
  );
}
