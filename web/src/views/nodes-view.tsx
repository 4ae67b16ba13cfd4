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
import { useNodeStats, useNodes } from '../live/live-context.tsx';

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
  const stats = useNodeStats(node.id);
  const cpuUsed = stats?.cpu.at(-1);
  const memoryUsed = stats?.memory.at(-1);
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
        used={cpuUsed}
        format={formatCpu}
      />
      <UsageBar
        label="Memory"
        capacity={node.memory_bytes}
        allocated={node.allocated_memory_bytes}
        used={memoryUsed}
        format={formatBytes}
      />
      {stats && stats.t.length > 1 && (
        <div className="sparks">
          <Sparkline series={stats} field="cpu" width={160} height={32} label={`${node.name} CPU`} />
          <Sparkline series={stats} field="memory" width={160} height={32} label={`${node.name} memory`} />
        </div>
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
