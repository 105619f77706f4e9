import type { Principal } from './api-key';
import type { AuditActor } from './audit-chain';

export const actorOf = (p: Principal): AuditActor => ({ keyId: p.keyId, organization: p.organization, roles: p.roles });
