// What every reply must be, whatever was asked: never a 5xx, and a 4xx in the error shape of the API that answered.
import type { ConcreteRequest, Reply } from './requests';

/** Why the reply breaks the contract, or null. */
export function contractBreach(req: ConcreteRequest, res: Reply): string | null {
  // 501 is a deliberate answer (Nova's too, e.g. hypervisor uptime on a driver without it), not a failure.
  if (res.status >= 500 && res.status !== 501) return `status ${res.status}: ${res.text.slice(0, 500)}`;
  if (res.status < 400 || req.method === 'HEAD') return null;
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    return `status ${res.status} with a body that is not JSON: ${JSON.stringify(res.text.slice(0, 200))}`;
  }
  // The router decodes the path (/%69dentity is /identity), so the API that answers is the decoded path's.
  const path = decoded(req.path.split('?')[0]!);
  return path === '/identity' || path.startsWith('/identity/') ? keystoneBreach(res.status, body) : faultBreach(res.status, body);
}

function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Keystone: {"error": {"code": N, "title": "...", "message": "..."}}. */
function keystoneBreach(status: number, body: unknown): string | null {
  const e = (body as { error?: Record<string, unknown> } | null)?.error;
  const ok = !!e && Object.keys(body as object).length === 1 && e.code === status && typeof e.title === 'string' && typeof e.message === 'string';
  return ok ? null : `status ${status} without Keystone's error body: ${JSON.stringify(body).slice(0, 300)}`;
}

/** Nova and the image API: {"<faultName>": {"code": N, "message": "..."}}. */
function faultBreach(status: number, body: unknown): string | null {
  const keys = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
  const f = keys.length === 1 ? (body as Record<string, Record<string, unknown> | null>)[keys[0]!] : undefined;
  const ok = !!f && typeof f === 'object' && f.code === status && typeof f.message === 'string' && /^[a-zA-Z]+$/.test(keys[0]!);
  return ok ? null : `status ${status} without an OpenStack fault body: ${JSON.stringify(body).slice(0, 300)}`;
}
