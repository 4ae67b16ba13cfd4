/**
 * Schema migrations, applied in order inside one transaction each. Append only: a released
 * migration is never edited, a change is a new entry.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE services (
     name TEXT PRIMARY KEY,
     spec TEXT NOT NULL,
     revision INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE service_revisions (
     name TEXT NOT NULL,
     revision INTEGER NOT NULL,
     spec TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (name, revision)
   );
   CREATE TABLE tasks (
     id TEXT PRIMARY KEY,
     service TEXT NOT NULL,
     slot INTEGER NOT NULL,
     revision INTEGER NOT NULL,
     node_id TEXT,
     desired_state TEXT NOT NULL,
     pending_reason TEXT,
     observed TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX tasks_by_service ON tasks (service, slot);
   CREATE TABLE nodes (
     id TEXT PRIMARY KEY,
     registration TEXT NOT NULL,
     joined_at INTEGER NOT NULL
   );
   CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     type TEXT NOT NULL,
     service TEXT,
     container TEXT,
     node TEXT,
     message TEXT NOT NULL
   );
   CREATE INDEX events_by_service ON events (service, id);`,
  // Operator state of nodes: availability (cordon, drain) and labels set through the API.
  `ALTER TABLE nodes ADD COLUMN availability TEXT NOT NULL DEFAULT 'active';
   ALTER TABLE nodes ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';`,
  // The service's current or last rollout (JSON, see model/rollout.ts).
  `ALTER TABLE services ADD COLUMN rollout TEXT;`,
  // Indexes the addressing plan derives addresses from: networks (subnets) and services (VIPs).
  `CREATE TABLE allocations (
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     idx INTEGER NOT NULL,
     PRIMARY KEY (kind, name),
     UNIQUE (kind, idx)
   );`,
];
