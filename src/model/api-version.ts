/**
 * The REST API's version. Additions (routes, fields) keep it; it changes only when an answer or
 * request changes meaning, and then the server keeps serving the previous one beside it. Apart
 * from version-view.ts so `skiff version --client` loads no schema library.
 */
export const API_VERSION = 1;
