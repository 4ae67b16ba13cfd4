/**
 * The deploy form's values and the spec they make (`POST /api/deploy`'s body), and which of the
 * API's field paths each form field shows. Pure.
 */

export interface DeployForm {
  readonly name: string;
  readonly image: string;
  readonly replicas: string;
  readonly containerPort: string;
  readonly hostPort: string;
  readonly cpus: string;
  readonly memoryMb: string;
  /** `KEY=value`, one a line. */
  readonly env: string;
  /** One argument a line; empty for the image's own command. */
  readonly command: string;
  readonly healthType: '' | 'http' | 'tcp' | 'exec';
  readonly healthTarget: string;
  readonly healthInterval: string;
}

export const EMPTY_FORM: DeployForm = {
  name: '',
  image: '',
  replicas: '1',
  containerPort: '',
  hostPort: '',
  cpus: '',
  memoryMb: '',
  env: '',
  command: '',
  healthType: '',
  healthTarget: '',
  healthInterval: '',
};

/** Each form field and the spec path whose errors it shows (and those below it). */
export const FIELD_PATHS: Readonly<Record<keyof DeployForm, string>> = {
  name: 'name',
  image: 'image',
  replicas: 'replicas',
  containerPort: 'ports',
  hostPort: 'ports.0.host_port',
  cpus: 'resources.cpus',
  memoryMb: 'resources.memory_mb',
  env: 'env',
  command: 'command',
  healthType: 'health_check',
  healthTarget: 'health_check.endpoint',
  healthInterval: 'health_check.interval',
};

export type FormProblems = Partial<Record<keyof DeployForm, string>>;

/** Numbers stay as typed when they are not numbers, so the API names the field that is wrong. */
function numberOr(text: string): number | string {
  const trimmed = text.trim();
  return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

export function specFromForm(form: DeployForm): { spec: Record<string, unknown>; problems: FormProblems } {
  const problems: FormProblems = {};
  const spec: Record<string, unknown> = { name: form.name.trim(), image: form.image.trim() };
  if (form.replicas.trim() !== '') spec.replicas = numberOr(form.replicas);
  if (form.containerPort.trim() !== '') {
    const port: Record<string, unknown> = { container_port: numberOr(form.containerPort) };
    if (form.hostPort.trim() !== '') port.host_port = numberOr(form.hostPort);
    spec.ports = [port];
  } else if (form.hostPort.trim() !== '') problems.hostPort = 'a published port needs a container port';
  const resources: Record<string, unknown> = {};
  if (form.cpus.trim() !== '') resources.cpus = numberOr(form.cpus);
  if (form.memoryMb.trim() !== '') resources.memory_mb = numberOr(form.memoryMb);
  if (Object.keys(resources).length > 0) spec.resources = resources;
  const env: Record<string, string> = {};
  for (const [i, line] of form.env.split('\n').entries()) {
    if (line.trim() === '') continue;
    const at = line.indexOf('=');
    if (at <= 0) problems.env = `line ${i + 1}: expected KEY=value`;
    else env[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  if (Object.keys(env).length > 0) spec.env = env;
  const command = form.command.split('\n').filter((l) => l !== '');
  if (command.length > 0) spec.command = command;
  if (form.healthType !== '') {
    const check: Record<string, unknown> = { type: form.healthType };
    const target = form.healthTarget.trim();
    if (form.healthType === 'exec') {
      if (target !== '') check.command = ['sh', '-c', target];
    } else if (/^\d+$/.test(target)) check.port = Number(target);
    else if (target !== '') check.endpoint = target;
    if (form.healthInterval.trim() !== '') check.interval = form.healthInterval.trim();
    spec.health_check = check;
  }
  return { spec, problems };
}
