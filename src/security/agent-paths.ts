/** The HTTP paths of agent-routes.ts, apart so the agent side need not load the server's routes. */
export const agentRoutesPaths = { ca: '/ca.crt', join: '/agent/v1/join', renew: '/agent/v1/renew' } as const;
