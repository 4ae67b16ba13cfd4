/**
 * Nodes: status, availability, labels, and capacity against what is reserved and what is used;
 * cordon, uncordon and drain for admins.
 */
import { memo } from 'react';
import { apiRequest } from '../api/http.ts';
import { mayAdminister, useRole } from '../api/session.ts';
import type { NodeView } from '../api/types.ts';
import { ActionButton, StatusPill } from '../components/action-button.tsx';
import { Sparkline } from '../components/sparkline.tsx';
import { UsageBar } from '../components/usage-bar.tsx';
import { formatBytes, formatCpu, formatTime } from '../format.ts';
import { useHostUsage, useNodeStats, useNodes } from '../live/live-context.tsx';

export function NodesView() {
  const nodes = useNodes();
  const admin = mayAdminister(useRole());
  if (nodes === undefined) return <p className="muted">Loading nodes…</p>;
  return (
    <section aria-labelledby="nodes-title">
      <h1 id="nodes-title">Nodes</h1>
      {nodes.length === 0 && <p className="muted">No node has joined.</p>}
      <ul className="cards" aria-label="Nodes">
        {nodes.map((node) => (
          <NodeCard key={node.id} node={node} admin={admin} />
        ))}
      </ul>
    </section>
  );
}

const NodeCard = memo(function NodeCard({ node, admin }: { node: NodeView; admin: boolean }) {
  // The replicas' summed samples, and the host's own usage (what the whole machine uses).
  const stats = useNodeStats(node.id);
  const host = useHostUsage(node.id);
  const charted = host && host.t.length > 1 ? host : stats;
  const path = `/api/nodes/${encodeURIComponent(node.id)}`;
  const labels = Object.entries(node.labels);
  return (
    <li className="card" data-node={node.id}>
      <div className="toolbar">
        <h2>{node.name}</h2>
        <StatusPill status={node.status} />
        <StatusPill status={node.availability} />
        <span className="mono">{node.address}</span>
        <span>{node.containers} containers</span>
      </div>
      {node.message && <p className="message">{node.message}</p>}
      <p className="labels">
        {labels.length === 0 ? (
          <span className="muted">no labels</span>
        ) : (
          labels.map(([k, v]) => (
            <span key={k} className="label mono">
              {k}={v}
            </span>
          ))
        )}
      </p>
      <UsageBar
        label="CPU"
        capacity={node.cpu_millicores}
        allocated={node.allocated_cpu_millicores}
        host={host?.cpu.at(-1)}
        replicas={stats?.cpu.at(-1)}
        format={formatCpu}
      />
      <UsageBar
        label="Memory"
        capacity={node.memory_bytes}
        allocated={node.allocated_memory_bytes}
        host={host?.memory.at(-1)}
        replicas={stats?.memory.at(-1)}
        format={formatBytes}
      />
      {charted && charted.t.length > 1 && (
        <figure className="node-charts" data-testid="node-charts">
          <div className="sparks">
            <Sparkline series={charted} field="cpu" width={150} height={40} label={`${node.name} CPU`} />
            <Sparkline
              series={charted}
              field="memory"
              width={150}
              height={40}
              label={`${node.name} memory`}
            />
          </div>
          <figcaption className="muted">
            {charted === host ? 'the host’s own CPU and memory' : 'its replicas’ CPU and memory'}, last two
            minutes
          </figcaption>
        </figure>
      )}
      <p className="muted">
        engine {node.engine_version}, joined {formatTime(node.joined_at)}, last heartbeat{' '}
        {formatTime(node.last_heartbeat)}
      </p>
      {admin && (
        <div className="actions">
          {node.availability === 'active' ? (
            <ActionButton onAct={() => apiRequest('POST', `${path}/cordon`)}>Cordon</ActionButton>
          ) : (
            <ActionButton onAct={() => apiRequest('POST', `${path}/uncordon`)}>Uncordon</ActionButton>
          )}
          {node.availability !== 'draining' && (
            <ActionButton
              danger
              confirm={`Drain ${node.name}? Its replicas move to other nodes.`}
              onAct={() => apiRequest('POST', `${path}/drain`)}
            >
              Drain
            </ActionButton>
          )}
        </div>
      )}
    </li>
  );
});
