/**
 * Plain-text tables as `ps` and `nodes` print them: each column as wide as its widest cell
 * (header included) plus two spaces, the last column unpadded so lines carry no trailing blanks.
 */

const GAP = 2;

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const last = header.length - 1;
  return [header, ...rows].map((row) =>
    header
      .map((_, column) => {
        const cell = row[column] ?? '';
        return column === last ? cell : cell.padEnd((widths[column] ?? 0) + GAP);
      })
      .join(''),
  );
}
