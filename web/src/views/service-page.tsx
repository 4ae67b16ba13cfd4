/**
 * One service: its replicas (node, state, health, restarts, last exit, and why it is pending,
 * unhealthy or backing off), rollout status and history with rollback, live logs, its events and
 * CPU/memory charts. Scale, rollback and remove are offered to roles that may use them.
 */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { apiRequest } from '../api/http.ts';
import { mayOperate, useRole } from '../api/session.ts';
import type { ContainerView, NodeView, RevisionView, ServiceView } from '../api/types.ts';
import { ActionButton, StatusPill } from '../components/action-button.tsx';
import { Sparkline } from '../components/sparkline.tsx';
import { formatBytes, formatCpu, formatTime, relative } from '../format.ts';
import { useNodes, useService, useServiceStats } from '../live/live-context.tsx';
import { href, navigate, useRoute } from '../router.ts';
import { EventList } from './events-view.tsx';
import { LogsPanel } from './logs-panel.tsx';

const TABS = ['replicas', 'logs', 'events', 'rollout'] as const;

export function ServicePage({ name }: { name: string }) {
  const service = useService(name);
  const { params } = useRoute();
  const tab = TABS.find((t) => t === params.get('tab')) ?? 'replicas';
  const role = useRole();
  if (service === undefined) return <p className="muted">Loading…</p>;
  if (service === null)
    return (
      <section>
        <h1>{name}</h1>
        <p>
          There is no service named {name}. <a href={href(['services'])}>All services</a>
        </p>
      </section>
    );
  return (
    <section aria-labelledby="service-title">
      <div className="toolbar">
        <h1 id="service-title">{service.name}</h1>
        <StatusPill status={service.status} />
        <span className="count" data-testid="service-running">
          {service.running}/{service.replicas} running
        </span>
        <span className="mono">{service.image}</span>
        <span>revision {service.revision}</span>
      </div>
      {service.message && <p className="message">{service.message}</p>}
      {mayOperate(role) && <ServiceActions service={service} />}
      <nav className="tabs" aria-label="Service sections">
        {TABS.map((t) => (
          <a
            key={t}
            href={href(['services', name], { tab: t })}
            aria-current={t === tab ? 'page' : undefined}
          >
            {t}
          </a>
        ))}
      </nav>
      {tab === 'replicas' && (
        <>
          <Replicas service={service} />
          <ServiceCharts name={service.name} />
        </>
      )}
      {tab === 'logs' && <LogsPanel service={service} />}
      {tab === 'events' && <EventList service={service.name} />}
      {tab === 'rollout' && <RolloutPanel service={service} mayAct={mayOperate(role)} />}
    </section>
  );
}

function ServiceActions({ service }: { service: ServiceView }) {
  const [replicas, setReplicas] = useState(String(service.replicas));
  const path = `/api/services/${encodeURIComponent(service.name)}`;
  return (
    <div className="actions">
      <label>
        Replicas{' '}
        <input
          type="number"
          min={0}
          max={1000}
          value={replicas}
          onChange={(e) => setReplicas(e.target.value)}
          aria-label="Desired replicas"
          className="narrow"
        />
      </label>
      <ActionButton
        onAct={() => apiRequest('POST', `${path}/scale`, { body: { replicas: Number(replicas) } })}
      >
        Scale
      </ActionButton>
      <ActionButton
        onAct={() => apiRequest('POST', `${path}/rollback`, { body: {} })}
        confirm={`Roll ${service.name} back to its previous revision?`}
      >
        Roll back
      </ActionButton>
      <ActionButton
        danger
        confirm={`Remove ${service.name} and stop all its replicas?`}
        onAct={async () => {
          await apiRequest('DELETE', path);
          navigate(href(['services']));
        }}
      >
        Remove
      </ActionButton>
    </div>
  );
}

function Replicas({ service }: { service: ServiceView }) {
  const nodes = useNodes();
  const nodeName = (id: string | null) =>
    id === null ? '—' : (nodes?.find((n: NodeView) => n.id === id)?.name ?? id);
  return (
    <section className="table replicas" aria-label="Replicas">
      <div className="row head">
        <span>Replica</span>
        <span>State</span>
        <span>Health</span>
        <span className="wide">Node</span>
        <span className="wide">Container</span>
        <span>Restarts</span>
        <span className="wide">Last exit</span>
        <span className="wide">Rev</span>
      </div>
      {service.containers.map((c) => (
        <ReplicaRow
          key={c.task_id}
          container={c}
          node={nodeName(c.node_id)}
          current={c.revision === service.revision}
        />
      ))}
      {service.containers.length === 0 && <p className="muted">No replicas.</p>}
    </section>
  );
}

function ReplicaRow({
  container: c,
  node,
  current,
}: {
  container: ContainerView;
  node: string;
  current: boolean;
}) {
  const why = whyNotServing(c);
  return (
    <div className="row" data-replica={c.name} data-state={c.status}>
      <span>{c.name}</span>
      <span>
        <StatusPill status={c.status} />
      </span>
      <span>{c.health}</span>
      <span className="wide">{node}</span>
      <span className="wide mono">{c.id ?? '—'}</span>
      <span data-testid="replica-restarts">{c.restart_count}</span>
      <span className="wide">{c.exit_code ?? '—'}</span>
      <span className="wide">
        {c.revision}
        {current ? '' : ' (old)'}
      </span>
      {why && <span className="row-message muted">{why}</span>}
    </div>
  );
}

/** Why a replica is not running and healthy, in words, with when it will be retried. */
function whyNotServing(c: ContainerView): string | null {
  const retry = c.retry_at ? ` (retrying ${relative(Date.parse(c.retry_at), Date.now())})` : '';
  if (c.status === 'running' && c.health !== 'unhealthy')
    return c.message && c.health === 'starting' ? c.message : null;
  const what = c.status === 'running' ? 'unhealthy' : c.status;
  return `${what}${c.message ? `: ${c.message}` : ''}${retry}`;
}

function ServiceCharts({ name }: { name: string }) {
  const series = useServiceStats(name);
  if (!series || series.t.length === 0)
    return <p className="muted">No CPU or memory figures reported yet.</p>;
  // As wide as a narrow window allows.
  const width = Math.max(200, Math.min(420, window.innerWidth - 40));
  return (
    <div className="charts">
      <figure>
        <figcaption>CPU ({formatCpu(series.cpu.at(-1) ?? 0)})</figcaption>
        <Sparkline series={series} field="cpu" width={width} height={140} label="CPU millicores" full />
      </figure>
      <figure>
        <figcaption>Memory ({formatBytes(series.memory.at(-1) ?? 0)})</figcaption>
        <Sparkline series={series} field="memory" width={width} height={140} label="Memory bytes" full />
      </figure>
    </div>
  );
}

/** The rollout's pull phase: each node the new image was pulled on first, and how that went. */
function PullPhaseTable({ phase }: { phase: NonNullable<NonNullable<ServiceView['rollout']>['pull']> }) {
  return (
    <>
      <h3>Pull phase</h3>
      <p data-testid="pull-phase">
        <StatusPill status={phase.state} /> <span className="mono">{phase.image}</span>, started{' '}
        {formatTime(phase.started_at)}
        {phase.finished_at ? `, finished ${formatTime(phase.finished_at)}` : ''}
      </p>
      <section className="table pull-phase" aria-label="Pull phase">
        <div className="row head">
          <span>Node</span>
          <span>Pull</span>
          <span>Message</span>
        </div>
        {phase.nodes.map((n) => (
          <div className="row" key={n.node}>
            <span>{n.node}</span>
            <span>{n.state}</span>
            <span>{n.message ?? ''}</span>
          </div>
        ))}
      </section>
    </>
  );
}

function RolloutPanel({ service, mayAct }: { service: ServiceView; mayAct: boolean }) {
  const rollout = service.rollout;
  const path = `/api/services/${encodeURIComponent(service.name)}`;
  const history = useQuery({
    queryKey: ['revisions', service.name, service.revision, rollout?.state],
    queryFn: () => apiRequest<RevisionView[]>('GET', `${path}/revisions`),
  });
  return (
    <div>
      <h2>Rollout</h2>
      {rollout ? (
        <p data-testid="rollout-state">
          <StatusPill status={rollout.state} /> revision {rollout.from_revision ?? '—'} →{' '}
          {rollout.to_revision}, started {formatTime(rollout.started_at)}
          {rollout.finished_at ? `, finished ${formatTime(rollout.finished_at)}` : ''}
          {rollout.message ? `: ${rollout.message}` : ''}
        </p>
      ) : (
        <p className="muted">No rollout recorded.</p>
      )}
      {rollout?.pull && <PullPhaseTable phase={rollout.pull} />}
      <h2>History</h2>
      {history.error && <p className="error">{history.error.message}</p>}
      <section className="table revisions" aria-label="Revisions">
        <div className="row head">
          <span>Revision</span>
          <span>Image</span>
          <span>Created</span>
          <span />
        </div>
        {(history.data ?? [])
          .slice()
          .reverse()
          .map((r) => (
            <div className="row" key={r.revision}>
              <span>{r.revision}</span>
              <span className="mono">{r.image}</span>
              <span>{formatTime(r.created_at)}</span>
              <span>
                {r.current ? (
                  'current'
                ) : mayAct ? (
                  <ActionButton
                    confirm={`Roll ${service.name} back to revision ${r.revision}?`}
                    onAct={() => apiRequest('POST', `${path}/rollback`, { body: { revision: r.revision } })}
                  >
                    Roll back to {r.revision}
                  </ActionButton>
                ) : null}
              </span>
            </div>
          ))}
      </section>
    </div>
  );
}
