/**
 * The help text: the command list `skiff --help` prints, and each command's own usage, printed by
 * `skiff <command> --help` and pointed at when its command line is wrong.
 */

interface CommandHelp {
  readonly synopsis: string;
  readonly summary: string;
  readonly options?: string;
  /** Process commands parse their own flags and print their own help. */
  readonly client: boolean;
}

const CONNECTION = `Connection:
  --server URL      the Skiff server (env SKIFF_SERVER, default http://127.0.0.1:8080)
  --token TOKEN     API token (env SKIFF_TOKEN, default: the data dir's admin.token)
  --data-dir DIR    where admin.token is (env SKIFF_DATA_DIR, default ~/.skiff)`;

const SINCE = '10m|UNIX_SECONDS|RFC3339';

export const COMMANDS = {
  up: {
    synopsis: 'skiff up [options]',
    summary: 'Run a server and an agent on this machine.',
    client: false,
  },
  server: { synopsis: 'skiff server [options]', summary: 'Run the server only.', client: false },
  agent: { synopsis: 'skiff agent [options]', summary: 'Run an agent that joins a server.', client: false },
  deploy: {
    synopsis: 'skiff deploy --name NAME --image IMAGE [options]',
    summary: 'Create or update a service, then wait until its replicas run and are healthy.',
    options: `  --replicas N                    replicas to run (default 1)
  -p, --port [HOST:]CONTAINER[/udp]
                                  publish a port; without HOST a free one is picked (repeatable)
  --cpus N                        CPU limit in cores, reserved when scheduling (0.5)
  --cpu-shares N                  relative CPU weight under contention (512)
  --memory SIZE                   memory limit, reserved when scheduling (512, 512m, 1g)
  -e, --env KEY=VALUE             environment variable (repeatable)
  --command "CMD ARGS"            command to run, split like a shell ("sh -c 'echo hi'")
  --health-type http|tcp|exec     health check kind, configured by:
      --health-endpoint URL  --health-path /PATH  --health-port N  --health-command "CMD"
      --health-interval 10s  --health-timeout 2s  --health-retries 3  --health-start-period 0s
  --restart always|on-failure|never
                                  restart policy (default always)
  --label KEY=VALUE               service label (repeatable)
  --constraint KEY==VALUE         place only on nodes whose label matches; also !=, node==ID (repeatable)
  --placement binpack|spread      fill nodes first (default) or keep them evenly loaded
  --stop-grace-period 10s         time between SIGTERM and SIGKILL
  -f, --file FILE                 JSON service spec ("-" for stdin); flags override its fields
  --detach                        return once the server has accepted it
  --timeout 120s                  how long to wait`,
    client: true,
  },
  scale: {
    synopsis: 'skiff scale NAME --replicas N [--detach] [--timeout 120s]',
    summary: "Change a service's replica count, then wait until it has converged.",
    client: true,
  },
  ps: {
    synopsis: 'skiff ps [NAME] [--json]',
    summary: "List services; with NAME, that service's replicas.",
    client: true,
  },
  logs: {
    synopsis: `skiff logs NAME [-f|--follow] [--tail N] [--since ${SINCE}] [--json]`,
    summary: "Print a service's logs, each line prefixed by its replica.",
    client: true,
  },
  events: {
    synopsis: `skiff events [-f|--follow] [--service NAME] [--since ${SINCE}] [--limit N] [--json]`,
    summary: "Print the cluster's events, oldest first.",
    client: true,
  },
  rm: { synopsis: 'skiff rm NAME', summary: 'Remove a service and stop its replicas.', client: true },
  nodes: {
    synopsis: 'skiff nodes [--json]',
    summary: 'List nodes with their capacity and what is allocated on them.',
    client: true,
  },
  rollout: {
    synopsis:
      'skiff rollout status|history|undo NAME [--to-revision N] [--no-wait] [--timeout 120s] [--json]',
    summary: "Follow a service's rollout, list its revisions, or return to an earlier one.",
    options: `  status NAME                     wait for the current rollout to end; exit 1 if it failed or rolled back
  history NAME                    the service's revisions, the current one marked *
  undo NAME [--to-revision N]     return to the previous revision (or N) and wait for it`,
    client: true,
  },
  node: {
    synopsis: 'skiff node cordon|uncordon|drain|rm NODE | skiff node label NODE [KEY=VALUE ...]',
    summary: 'Operate on one node: stop placing on it, move its replicas away, set labels, forget it.',
    options: `  cordon NODE                     place no new replicas on it
  uncordon NODE                   make it schedulable again
  drain NODE                      cordon it and move its replicas elsewhere, each started before the old stops
  label NODE [KEY=VALUE ...]      set its operator labels (replacing the previous ones; none clears them)
  rm NODE                         forget a node whose agent is gone`,
    client: true,
  },
} as const satisfies Record<string, CommandHelp>;

export type CommandName = keyof typeof COMMANDS;

export function isCommandName(text: string): text is CommandName {
  return Object.hasOwn(COMMANDS, text);
}

export function commandUsage(command: CommandName): string {
  const help: CommandHelp = COMMANDS[command];
  const sections = [`usage: ${help.synopsis}`, help.summary];
  if (help.options !== undefined) sections.push(`Options:\n${help.options}`);
  if (help.client) sections.push(CONNECTION);
  return `${sections.join('\n\n')}\n`;
}

export function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 3;
  const lines = Object.entries(COMMANDS).map(([name, help]) => `  ${name.padEnd(width)}${help.summary}`);
  return `usage: skiff <command> [options]

Commands:
${lines.join('\n')}

Run "skiff help <command>" (or "skiff <command> --help") for its options.
`;
}
