/**
 * Capacity against what is reserved and what is used (the sum of its replicas' latest samples from
 * the stream), as one bar: reserved filled, used marked.
 */
export function UsageBar({
  label,
  capacity,
  allocated,
  used,
  format,
}: {
  label: string;
  capacity: number;
  allocated: number;
  used: number | undefined;
  format: (n: number) => string;
}) {
  const share = (n: number) => `${capacity > 0 ? Math.min(100, (n / capacity) * 100) : 0}%`;
  const usedText = used === undefined ? 'usage not reported yet' : `${format(used)} used by its replicas`;
  return (
    <div className="usage">
      <div className="usage-label">
        {label}: {format(allocated)} reserved of {format(capacity)}, {usedText}
      </div>
      <div className="bar" aria-hidden="true">
        <div className="bar-allocated" style={{ width: share(allocated) }} />
        {used !== undefined && <div className="bar-used" style={{ width: share(used) }} />}
      </div>
    </div>
  );
}
