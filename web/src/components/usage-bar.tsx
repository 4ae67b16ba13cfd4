/**
 * Capacity against what is reserved and what is used, as one bar: reserved filled, the host's own
 * usage (its agent's measure of the whole machine) as a bar across it, and the share of that its
 * replicas use as a mark (usage-figures.ts has the arithmetic).
 */
import { usageFigures } from './usage-figures.ts';

export function UsageBar({
  label,
  capacity,
  allocated,
  host,
  replicas,
  format,
}: {
  label: string;
  capacity: number;
  allocated: number;
  host: number | undefined;
  replicas: number | undefined;
  format: (n: number) => string;
}) {
  const f = usageFigures({ capacity, allocated, host, replicas }, format);
  return (
    <div className="usage" data-usage={label.toLowerCase()}>
      <div className="usage-label">
        {label}: {f.text}
      </div>
      <div className={`bar${f.overCapacity ? ' over' : ''}`} aria-hidden="true">
        <div className="bar-allocated" style={{ width: `${f.allocatedPercent}%` }} />
        {f.hostPercent !== undefined && (
          <div className="bar-host" data-testid="host-bar" style={{ width: `${f.hostPercent}%` }} />
        )}
        {f.replicasPercent !== undefined && (
          <div className="bar-used" style={{ width: `${f.replicasPercent}%` }} />
        )}
      </div>
    </div>
  );
}
