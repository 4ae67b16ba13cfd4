/** This build's part of `GET /api/version` and `skiff version`: the same fields on either side. */
import { API_VERSION, type VersionView } from '../model/version-view.ts';
import { PROTOCOL_VERSION } from '../protocol/features.ts';
import { buildInfo } from './build-info.ts';

export function buildVersionView(): VersionView {
  const info = buildInfo();
  return {
    version: info.version,
    commit: info.commit,
    build_date: info.buildDate,
    build: info.flavour,
    api_version: API_VERSION,
    protocol_version: PROTOCOL_VERSION,
  };
}
