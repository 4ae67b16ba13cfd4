/**
 * The help text: the command list `skiff --help` prints, and each command's own usage, printed by
 * `skiff <command> --help` and pointed at when its command line is wrong.
 */

interface CommandHelp {
  readonly synopsis: string;
  readonly summary: string;
  /** Every flag the command takes but the connection flags (usage.test.ts checks that). */
  readonly options?: string;
  /** The sub-commands of a command that has them (`node cordon`, `rollout undo`). */
  readonly actions?: string;
  /** Client commands also take the connection flags, listed after their own. */
  readonly client: boolean;
}

const CONNECTION = `Connection (each: the flag, else its SKIFF_* variable, else the context, else the default):
  --server URL[,URL...]           the Skiff server, or one cluster's servers tried in order (env SKIFF_SERVER,
                                  default http://127.0.0.1:8080; https:// off this host)
  --ca FILE                       the cluster CA for https (env SKIFF_CA, default: the data dir's ca.crt)
  --token TOKEN                   API token (env SKIFF_TOKEN, default: the data dir's admin.token)
  --data-dir DIR                  where admin.token and ca.crt are (env SKIFF_DATA_DIR, default ~/.skiff)
  --context NAME                  a saved context (skiff context; env SKIFF_CONTEXT; default: the current one;
                                  "default" for none)`;

const SINCE = '10m|UNIX_SECONDS|RFC3339';

const JSON_OPTION = '  --json                          print JSON (one object per line when following)';

/** Every read command's output flags (output-format.ts). */
const OUTPUT_OPTION = `  -o, --output FORMAT             table (default), wide, json, yaml, or name (one name a line)
  -q, --quiet                     names only (-o name)
  --json                          the same as -o json`;

const WAIT = `  --detach                        return once the server has accepted it
  --timeout 120s                  how long to wait for the service to converge`;

const HELP = '  -h, --help                      print this help';

/** Every daemon's flags (config-file.ts, src/log). */
const DAEMON = `  --config FILE                   settings by flag name, in YAML; flags given here win
                                  (default /etc/skiff/server.yaml or agent.yaml, when it exists)
  --log-format text|json          json: one object a line (time, level, component, msg, fields)
  --log-level info                debug, info, warn or error`;

const STORE_FLAGS = `  --store etcd://HOST:PORT[,HOST:PORT...][/PREFIX]
                                  keep the cluster state in etcd under PREFIX (default /skiff) instead of
                                  SQLite in the data dir (key files stay in the data dir)
  --etcd-ca FILE                  the CA etcd's certificates are checked against (TLS to etcd)
  --etcd-cert FILE                a client certificate for etcd (with --etcd-key)
  --etcd-key FILE                 the key of --etcd-cert`;

const SERVER = `  --data-dir DIR                  state, tokens and the local agent's files (env SKIFF_DATA_DIR, default ~/.skiff)
  --port N                        API port (default 8080; 0 picks a free one)
  --listen ADDR                   address the API listens on (default 0.0.0.0)
  --heartbeat-timeout 1.5s        a node silent this long is unreachable
  --node-down-after 3s            a node unreachable this long is down; its replicas move elsewhere
  --address-pool CIDR             the IPv4 range of the cluster's networks and service addresses, /12 to /18
                                  (default 10.240.0.0/12); fixed at the cluster's first start
  --san NAME[,NAME...]            more names or addresses for the serving certificate
  --tls-cert FILE                 serve people this certificate (PEM, with its chain) instead of the cluster
                                  CA's; agents are still served the cluster's (by SNI) and verify it
  --allowed-origin URL[,URL...]   pages of these origins (besides the server's own) may sign in to the
                                  dashboard's session and open its stream (e.g. https://ops.example)
  --tls-key FILE                  the key of --tls-cert
  --cert-lifetime 2160h           lifetime of serving and node certificates (90 days; renewed at 2/3)
  --metrics-listen ADDR           also serve GET /metrics without a token on HOST:PORT (plain HTTP on
                                  loopback, TLS with the serving certificate elsewhere)
  --advertise URL                 where other hosts reach this server (several servers: agents are sent
                                  to the leader's; default https://LISTEN-ADDRESS:PORT)
${STORE_FLAGS}
${DAEMON}`;

const LOCAL_AGENT = `  --docker-host ADDR              the Docker engine: unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST
                                  (default: DOCKER_HOST and the TLS settings of the environment, as docker reads them)
  --name NAME                     this node's name, a DNS label (default the host name's first label)
  --concurrency N                 engine operations at once (1-256, default 8)
  --secrets-dir DIR               where replicas' secret and config files are written, on a tmpfs the
                                  agent mounts if needed (default /run/skiff/secrets)
  --stats-interval 5s             how often replicas' and the node's CPU, memory, network and disk use is
                                  sampled and sent to the server (1s to 1h)
  --pull-concurrency 3            image pulls at once on this node (1-64); more wait their turn
  --pull-timeout 5m               a pull still running after this long is cancelled and its replica
                                  fails (backing off) with that reason (10s to 24h)
  --image-gc-high-threshold 85    remove unused images Skiff pulled once the filesystem of the engine's
                                  data root is this full (percent), oldest unused first
  --image-gc-low-threshold 80     ... until it is down to this (percent, at most the high mark)
  --image-gc-min-age 2m           an image used (or pulled) more recently than this is kept
  --image-gc-interval 1m          how often the agent looks at its images: reports changes, collects
  --http-proxy auto               who serves app_protocol: http ports: haproxy (the agent runs its own,
                                  from the host's haproxy 2.2+), builtin (the agent's own Node proxy),
                                  or auto (haproxy when the host has it, else builtin; env SKIFF_HTTP_PROXY)`;

/** How every size flag reads, the same wherever one is taken. */
const SIZE = 'SIZE is 512m, 1g, 1.5g, or a bare number of MiB (512 = 512m)';

export const COMMANDS = {
  up: {
    synopsis: 'skiff up [options]',
    summary: 'Run a server and an agent on this machine.',
    options: `${SERVER}
${LOCAL_AGENT}`,
    client: false,
  },
  server: {
    synopsis: 'skiff server [options]',
    summary: 'Run the server only; agents join it with its join token.',
    options: SERVER,
    client: false,
  },
  agent: {
    synopsis: 'skiff agent --server URL[,URL...] --join-token TOKEN [options]',
    summary: 'Run an agent that joins a server.',
    options: `  --server URL[,URL...]           the server to join (https://HOST:8080); every server of an HA
                                  cluster: the agent keeps to the leader and fails over
  --join-token TOKEN              the server's DIR/join.token (env SKIFF_JOIN_TOKEN); needed only
                                  to join: the node certificate in --data-dir is used after
  --data-dir DIR                  where the agent keeps its assignment (default ~/.skiff-agent)
  --address IP                    where other hosts reach this one's published ports (default 127.0.0.1)
  --labels KEY=VALUE,...          node labels, for placement constraints (zone=eu-1)
  --cpus N                        CPU cores to offer (default: what the engine reports)
  --memory SIZE                   memory to offer (default: what the engine reports); ${SIZE}
${LOCAL_AGENT}
  --cleanup                       remove this host's netfilter rules of the agent's cluster (the one
                                  in --data-dir), then exit; run it after skiff node rm or to uninstall
  --cluster ID                    with --cleanup: the rules of this cluster instead
  --all                           with --cleanup: the rules of every Skiff cluster
${DAEMON}`,
    client: false,
  },
  deploy: {
    synopsis: 'skiff deploy --name NAME --image IMAGE [options]',
    summary: 'Create or update a service, then wait until its replicas run and are healthy.',
    options: `  --name NAME                     the service (a DNS label: a-z, 0-9, -)
  --image IMAGE                   the image its replicas run (pulled only when missing)
  --replicas N                    replicas to run (default 1)
  -p, --port [HOST:]CONTAINER[/udp|/http]
                                  a port reachable by name; with HOST also published on every node (repeatable)
  --cpus N                        CPU limit in cores, reserved when scheduling (0.5)
  --cpu-shares N                  relative CPU weight under contention (512)
  --memory SIZE                   memory limit, reserved when scheduling; ${SIZE}
  -e, --env KEY=VALUE             environment variable (repeatable)
  --command "CMD ARGS"            command to run, split like a shell ("sh -c 'echo hi'")
  --health-type http|tcp|exec     health check kind, configured by the --health-* flags below
  --health-endpoint URL           http: the URL to GET (localhost is the container)
  --health-path /PATH             http: the path on the container's first port
  --health-port N                 http or tcp: the container port to probe
  --health-command "CMD"          exec: the command run inside the container (exit 0 is healthy)
  --health-interval 10s           time between probes
  --health-timeout 2s             how long one probe may take
  --health-retries 3              failures in a row that make a replica unhealthy
  --health-start-period 0s        failures in this time after start do not count
  --restart always|on-failure|never
                                  restart policy (default always)
  --label KEY=VALUE               service label (repeatable)
  --constraint KEY==VALUE         place only on nodes whose label matches; also !=, node==ID (repeatable)
  --placement binpack|spread      fill nodes first (default) or keep them evenly loaded
  --replicas-max-per-node N       at most N replicas of the service on one node
  --stop-grace-period 10s         time between SIGTERM and SIGKILL
  --stop-signal SIGNAL            the signal that stops a replica (SIGTERM, SIGINT, SIGQUIT, …)
  --init                          run Docker's init as PID 1 (forwards the stop signal, reaps zombies)
  --pull always|missing           when a node pulls a tag it already has: never (missing, the default)
                                  or at every replica start (always); a digest is never pulled again
  --network NAME                  a Skiff network the replicas join (repeatable; default "default")
  --secret NAME[:TARGET]          a secret as a file, /run/secrets/NAME by default; also
                                  source=NAME,target=PATH,mode=0400 (repeatable)
  --config NAME[:TARGET]          a config as a file, /NAME by default; same forms (repeatable)
  -v, --volume SOURCE:TARGET[:ro] a named volume (data-{{.Task.Slot}}: one per replica), a host path
                                  (/srv/conf, policy: bind:PATH), or TARGET alone: anonymous (repeatable)
  --mount type=volume|bind|tmpfs,source=S,target=T[,readonly][,shared][,tmpfs-size=64m]
                                  the same, as docker service create --mount (repeatable)
  -u, --user USER[:GROUP]         the user the replicas run as (name or uid)
  --read-only                     mount the container's root filesystem read-only
  --cap-add CAP                   add a Linux capability, NET_ADMIN (repeatable; the policy may refuse it)
  --cap-drop CAP                  drop a Linux capability, ALL or e.g. NET_RAW (repeatable)
  --privileged                    full access to the host (refused by the baseline policy)
  --network-mode host             the host's network instead of Skiff networks (policy: host-network)
  --pid host                      the host's PID namespace (refused by the baseline policy)
  --ipc host                      the host's IPC namespace (refused by the baseline policy)
  --uts host                      the host's UTS namespace (refused by the baseline policy)
  --userns host                   the host's user namespace (refused by the baseline policy)
  --device /dev/X[:/dev/Y][:rwm]  give the replicas a host device (repeatable; policy: device:/dev/X)
  --sysctl KEY=VALUE              a namespaced kernel parameter (repeatable; unsafe ones need policy)
  --security-opt seccomp=unconfined|apparmor=unconfined
                                  lift a confinement profile (repeatable; refused by the baseline policy)
  -f, --file FILE                 JSON service spec ("-" for stdin); flags override its fields
${WAIT}`,
    client: true,
  },
  scale: {
    synopsis: 'skiff scale NAME --replicas N [options]',
    summary: "Change a service's replica count, then wait until it has converged.",
    options: `  --replicas N                    the replica count (0-1000)
${WAIT}`,
    client: true,
  },
  ps: {
    synopsis: 'skiff ps [NAME] [-o table|wide|json|yaml|name] [-q]',
    summary: "List services; with NAME, that service's replicas.",
    options: OUTPUT_OPTION,
    client: true,
  },
  logs: {
    synopsis: 'skiff logs NAME [options]',
    summary: "Print a service's logs, each line prefixed by its replica.",
    options: `  -f, --follow                    keep following the service: replicas that start later (a
                                  replacement, a scale-up, a first placement) join the stream; until Ctrl-C
  --tail N                        the last N lines of each replica
  --since ${SINCE}
                                  lines since then (10m ago, a unix time, or an RFC 3339 time)
${JSON_OPTION}`,
    client: true,
  },
  events: {
    synopsis: 'skiff events [options]',
    summary: "Print the cluster's events, oldest first.",
    options: `  -f, --follow                    print the events so far, then new ones as they happen, until Ctrl-C
  --service NAME                  only this service's events
  --since ${SINCE}
                                  events since then
  --limit N                       at most N events of the backlog (default 1000)
${OUTPUT_OPTION}`,
    client: true,
  },
  stats: {
    synopsis: 'skiff stats [SERVICE] [options]',
    summary: "Show replicas' CPU, memory, network and block I/O (and each node's), live, like docker stats.",
    options: `  --no-stream                     print the current figures once instead of following them until Ctrl-C
${OUTPUT_OPTION}`,
    client: true,
  },
  rm: {
    synopsis: 'skiff rm NAME [--volumes]',
    summary: 'Remove a service and stop its replicas (its named volumes stay unless --volumes).',
    options: `  --volumes                       remove the service's named volumes too (their data is lost)`,
    client: true,
  },
  top: {
    synopsis: 'skiff top [--once]',
    summary:
      'Services, replicas, nodes and events, live in the terminal (keys: move, filter, scale, roll back, logs).',
    options: `  --once                          not on a terminal: print the snapshot and exit (else one line per change follows)
Keys: ↑↓ or j/k move, tab or 1-4 switch pane, / filter, s scale, r roll back, l follow logs, esc clear, q quit`,
    client: true,
  },
  servers: {
    synopsis: 'skiff servers [--json]',
    summary: "List the servers of the cluster, which one leads and since when, and the store's health.",
    options: JSON_OPTION,
    client: true,
  },
  nodes: {
    synopsis: 'skiff nodes [-o table|wide|json|yaml|name] [-q]',
    summary: 'List nodes with their capacity and what is allocated on them.',
    options: OUTPUT_OPTION,
    client: true,
  },
  rollout: {
    synopsis: 'skiff rollout status|history|undo NAME [options]',
    summary: "Follow a service's rollout, list its revisions, or return to an earlier one.",
    actions: `  status NAME                     wait for the current rollout to end; exit 1 if it failed or rolled back
  history NAME                    the service's revisions, the current one marked *
  undo NAME                       return to the previous revision (or --to-revision N) and wait for it`,
    options: `  --to-revision N                 undo: the revision to return to
  --no-wait                       status, undo: do not wait for the rollout to end
  --timeout 120s                  how long to wait
${OUTPUT_OPTION}`,
    client: true,
  },
  node: {
    synopsis: 'skiff node cordon|uncordon|drain|rm NODE | skiff node label NODE [KEY=VALUE ...]',
    summary: 'Operate on one node: stop placing on it, move its replicas away, set labels, forget it.',
    actions: `  cordon NODE                     place no new replicas on it
  uncordon NODE                   make it schedulable again
  drain NODE                      cordon it and move its replicas elsewhere, each started before the old stops
  label NODE [KEY=VALUE ...]      set its operator labels (replacing the previous ones; none clears them)
  rm NODE                         forget a node whose agent is gone`,
    options: OUTPUT_OPTION,
    client: true,
  },
  volume: {
    synopsis: 'skiff volume ls | skiff volume inspect|rm NAME | skiff volume move NAME --to NODE',
    summary:
      'Where the volumes are (node-local), which replica each is for and who mounts it; remove or move one.',
    actions: `  ls                              every volume, a row per node holding it
  inspect NAME                    one volume's rows
  rm NAME                         remove it (its data is lost) once no replica meant to run mounts it
  move NAME --to NODE             its replica runs on NODE from now on, with an empty volume there
                                  (the data stays on the old node; nothing is copied)`,
    options: `  --node NODE                     rm: only the copy on NODE (the one a move left behind)
  --to NODE                       move: the node its replica runs on from now on
${OUTPUT_OPTION}`,
    client: true,
  },
  ca: {
    synopsis: 'skiff ca rotate',
    summary: 'Make a new cluster CA; the old one stays trusted, agents renew onto the new one.',
    actions: `  rotate                          new CA, serving certificate and join token (printed); DIR/ca.crt holds both CAs`,
    client: true,
  },
  token: {
    synopsis:
      'skiff token create --name NAME --role viewer|operator|admin [--expires 30d] | skiff token ls | skiff token rm NAME | skiff token rotate join',
    summary:
      'API tokens with roles: viewer reads, operator also runs services, admin does everything (admin only).',
    actions: `  create                          make a token; prints its secret once (the server keeps only a hash)
  ls                              list tokens: name, role, created, last used, expiry
  rm NAME                         remove a token: it stops working at once
  rotate join                     a new join secret (same CA digest), printed and written to DIR/join.token;
                                  joined agents keep their node certificates`,
    options: `  --name NAME                     create: the token's name (lowercase letters, digits, dashes), named in events
  --role ROLE                     create: viewer, operator or admin
  --expires 30d                   create: lifetime in d, h or m (default: never expires)
${OUTPUT_OPTION}`,
    client: true,
  },
  store: {
    synopsis: 'skiff store migrate --from DIR --to etcd://HOST:PORT[,...][/PREFIX] [--force]',
    summary: 'Copy a single-server cluster (SQLite in DIR) into etcd; its agents and containers carry on.',
    actions: `  migrate                         stop the server first; then start it with --data-dir DIR --store URL
                                  (other servers need DIR's key files: ca.crt, ca.key, cluster.key, tokens)`,
    options: `  --from DIR                      the data dir of the cluster to copy (its skiff.db)
  --to URL                        the etcd store to copy it into (etcd://HOST:PORT[,...][/PREFIX])
  --force                         replace whatever the prefix holds
${STORE_FLAGS.split('\n').slice(3).join('\n')}`,
    client: false,
  },
  snapshot: {
    synopsis: 'skiff snapshot save|restore FILE [--data-dir DIR | --store etcd://...] [--force]',
    summary:
      'Save the cluster state to a file, or put one back (SQLite: a database copy; etcd: an export at one revision).',
    actions: `  save FILE                       a consistent copy, taken while the server runs
  restore FILE                    put it back (stop the servers first); agents' containers are adopted again`,
    options: `  --force                         restore: replace the state that is there
${STORE_FLAGS.replace('  --store', '  --data-dir DIR                  the SQLite store (default ~/.skiff; env SKIFF_DATA_DIR)\n  --store')}`,
    client: false,
  },
  policy: {
    synopsis:
      'skiff policy show | skiff policy set baseline|privileged | skiff policy allow|deny SERVICE EXCEPTION',
    summary: 'The admission policy: which container privileges services may use (changes: admin only).',
    actions: `  show                            print the policy
  set baseline|privileged         baseline refuses privileged, host namespaces, extra capabilities, devices,
                                  unsafe sysctls, unconfined seccomp/AppArmor and host paths; privileged admits all
  allow SERVICE EXCEPTION         grant one service an exception: privileged, cap:NET_ADMIN, device:/dev/fuse,
                                  sysctl:NAME, bind:/var/log, host-network, host-pid, host-ipc, host-uts,
                                  host-userns, seccomp-unconfined, apparmor-unconfined
  deny SERVICE EXCEPTION          withdraw it`,
    options: OUTPUT_OPTION,
    client: true,
  },
  secret: {
    synopsis: 'skiff secret create NAME -f FILE|- | skiff secret ls | skiff secret rm NAME',
    summary:
      'Secrets: encrypted at rest, sent only to nodes running a replica that uses them, seen there as files (/run/secrets/NAME).',
    actions: `  create NAME                     create it, or update it (which rolls every service that uses it)
  ls                              list names, versions, sizes (never values)
  rm NAME                         remove one no service uses`,
    options: `  -f, --file FILE                 create: read the value from FILE, or - for stdin
${OUTPUT_OPTION}`,
    client: true,
  },
  config: {
    synopsis:
      'skiff config create NAME -f FILE|- | skiff config ls | skiff config show NAME | skiff config rm NAME',
    summary: 'Configs: like secrets (files in the replicas, /NAME by default) but readable back.',
    actions: `  create NAME                     create it, or update it (which rolls every service that uses it)
  ls                              list names, versions, sizes
  show NAME                       print its content
  rm NAME                         remove one no service uses`,
    options: `  -f, --file FILE                 create: read the value from FILE, or - for stdin
${OUTPUT_OPTION}`,
    client: true,
  },
  registry: {
    synopsis:
      'skiff registry login HOST --username U --password-stdin | skiff registry ls | skiff registry logout HOST',
    summary:
      'Registry credentials: nodes send them when they pull from that registry, and deploys resolve its tags to digests with them.',
    actions: `  login HOST                      store (or replace) the credential for HOST[:PORT] (docker.io for
                                  Docker Hub), encrypted at rest; the password is read from stdin
  ls                              list registries and usernames (never passwords)
  logout HOST                     remove it`,
    options: `  -u, --username U                login: the registry user
  --password-stdin                login: read the password from stdin (required)
${OUTPUT_OPTION}`,
    client: true,
  },
  exec: {
    synopsis: 'skiff exec [-i] [-t] [-u USER] [-w DIR] [-e K=V…] REPLICA|SERVICE [--] COMMAND [ARG…]',
    summary:
      'Run a command in a replica (api-server-2), or in any running replica of a service, through its agent; exits with its status (operator or admin).',
    options: `  -i, --interactive               send stdin to the command
  -t, --tty                       give it a terminal (with -i at a terminal: raw mode, window resizes)
  -u, --user USER                 run as USER, UID or UID:GID
  -w, --workdir DIR               run in DIR
  -e, --env K=V                   set a variable (repeatable)`,
    client: true,
  },
  image: {
    synopsis: 'skiff image ls [--node NODE] | skiff image prune [--node NODE]',
    summary:
      "Images on the nodes' engines; agents remove the unused ones Skiff pulled past --image-gc-high-threshold.",
    actions: `  ls                              every node's images: repository:tag, id, size, containers using it,
                                  and whether Skiff pulled it (only those are ever removed)
  prune                           remove, now, every unused image Skiff pulled (not one in use or that
                                  a desired replica runs, never one Skiff did not pull)`,
    options: `  --node NODE                     one node only
${OUTPUT_OPTION}`,
    client: true,
  },
  stack: {
    synopsis:
      'skiff stack deploy -c FILE [-c FILE…] [--prune] [--dry-run] NAME | skiff stack ls | skiff stack ps NAME | skiff stack rm NAME | skiff stack config -c FILE…',
    summary:
      'Stacks from Compose files, as docker stack deploy: service web of stack shop is shop-web, reached as web on the stack’s networks.',
    actions: `  deploy NAME                     deploy (or update) the files' services, secrets and configs, all or nothing;
                                  only the services that changed roll
  ls                              list stacks: services, replicas running/desired
  ps NAME                         the stack's services and replicas
  rm NAME                         remove the stack's services
  config                          print the files merged and interpolated, as Skiff read them`,
    options: `  -c, --compose-file FILE         a Compose file; several are merged in order (.env beside the first is read)
  --prune                         deploy: remove the stack's services the files no longer have
  --dry-run                       deploy: print the Skiff service specs instead of deploying
${OUTPUT_OPTION}`,
    client: true,
  },
  completion: {
    synopsis: 'skiff completion bash|zsh|fish',
    summary: 'Print a shell completion script: commands, flags, and service and node names from the server.',
    actions: `  bash                            source <(skiff completion bash), or save it in /etc/bash_completion.d/skiff
  zsh                             skiff completion zsh > "\${fpath[1]}/_skiff"
  fish                            skiff completion fish > ~/.config/fish/completions/skiff.fish`,
    client: false,
  },
  install: {
    synopsis: 'skiff install server|agent [--dry-run] [--root DIR]',
    summary:
      'Install this skiff as a systemd service: binary, unit, /etc/skiff config; then enable and start it.',
    options: `  --dry-run                       print every step and file, change nothing
  --root DIR                      write under DIR instead of / and do not call systemctl (packaging)`,
    client: false,
  },
  uninstall: {
    synopsis: 'skiff uninstall server|agent [--purge] [--dry-run] [--root DIR]',
    summary:
      "Stop and remove a skiff service (an agent's netfilter rules too); its state in /var/lib/skiff stays.",
    options: `  --purge                         also remove /etc/skiff/ROLE.yaml and ROLE.env
  --dry-run                       print every step, change nothing
  --root DIR                      remove under DIR instead of / and do not call systemctl`,
    client: false,
  },
  version: {
    synopsis: 'skiff version [--client] [-o json|yaml]',
    summary: "Print this skiff's version, commit, build date, API and protocol versions, and the server's.",
    options: `  --client                        this skiff only; do not ask the server
${OUTPUT_OPTION}`,
    client: true,
  },
  context: {
    synopsis:
      'skiff context add NAME --server URL[,URL...] [--token-file FILE] [--ca FILE] | skiff context use NAME | skiff context ls | skiff context rm NAME',
    summary: 'Saved ways to reach a cluster from this machine (servers, token, CA), like docker context.',
    actions: `  add NAME                        save a context (or replace it); the first one saved becomes current
  use NAME                        make it the current one ("default": none, back to ~/.skiff)
  ls                              list contexts; * marks the current one
  rm NAME                         remove one`,
    options: `  --server URL[,URL...]           add: the cluster's servers (https://HOST:8080), tried in order
  --token-file FILE               add: an API token to send (its content is saved; skiff token create)
  --ca FILE                       add: the cluster CA to verify the servers with (the server's DIR/ca.crt;
                                  its content is saved); without it, the system's CAs (an operator certificate)
${JSON_OPTION}
Kept in $XDG_CONFIG_HOME/skiff/config (default ~/.config/skiff/config), mode 0600. Flags and
SKIFF_SERVER, SKIFF_TOKEN, SKIFF_CA, SKIFF_DATA_DIR beat what a context holds.`,
    client: false,
  },
} as const satisfies Record<string, CommandHelp>;

export type CommandName = keyof typeof COMMANDS;

export function isCommandName(text: string): text is CommandName {
  return Object.hasOwn(COMMANDS, text);
}

export function commandUsage(command: CommandName): string {
  const help: CommandHelp = COMMANDS[command];
  const sections = [`usage: ${help.synopsis}`, help.summary];
  if (help.actions !== undefined) sections.push(`Actions:\n${help.actions}`);
  sections.push(`Options:\n${help.options === undefined ? '' : `${help.options}\n`}${HELP}`);
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
