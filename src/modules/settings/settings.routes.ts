import { Router } from 'express';
import { ROLES } from '../../shared/principal';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import { deploymentSettings } from './settings.dto';
import type { SettingsService } from './settings.service';

/** GET /v1/settings (any role). */
export function settingsRouter(settings: SettingsService, openapi: OpenApi): Router {
  const r = Router();
  r.get('/', requireRole(...ROLES), async (req, res) => {
    res.json(await settings.read(principalOf(req)));
  });
  openapi.add({
    method: 'get',
    path: '/v1/settings',
    summary:
      "The deployment's score thresholds (what the word bands strong / possible / weak mean here), the weak-lead limit, the quality gates and the purpose policy that applies to the caller's organization",
    roles: [...ROLES],
    responses: { 200: { description: 'Settings', schema: deploymentSettings } },
  });
  return r;
}
