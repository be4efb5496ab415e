import { describe, expect, it } from 'vitest';
import { alertOf, type AlertMessage } from '../web/src/app/alerts.fns.js';

const ts = '2026-01-01T00:00:00.000Z';
const msg = (topic: string, type: string, payload: unknown): AlertMessage => ({ topic, type, payload, ts });
const names = (id: string) => (id === 'e1' ? 'vps-1' : id);

describe('shell alert tray: which hub messages are alerts', () => {
  it('an environment turning unhealthy is one alert, not one per health check; recovering and failing again is another', () => {
    const seen = new Map<string, string>();
    const health = (h: string) => alertOf(msg('environments', 'health', { environmentId: 'e1', status: { health: h, message: 'ssh: timeout' } }), seen, names);
    expect(health('healthy')).toBeNull();
    expect(health('unhealthy')).toMatchObject({ title: 'vps-1 is unhealthy', message: 'ssh: timeout', link: { to: '/fleet/$id', id: 'e1' } });
    expect(health('unhealthy')).toBeNull();
    expect(health('healthy')).toBeNull();
    expect(health('unhealthy')).not.toBeNull();
    expect(health('host_key_mismatch')).toMatchObject({ title: 'vps-1: host key changed' });
  });

  it('a bot crashing or stopping in error is an alert naming the bot and its last error', () => {
    const seen = new Map<string, string>();
    const bot = (status: string, type = 'instance_updated') => alertOf(msg('instances', type, { id: 'b1', name: 'btc-long', status, lastError: 'exit 1' }), seen, names);
    expect(bot('running')).toBeNull();
    expect(bot('crashed')).toMatchObject({ title: 'Bot btc-long crashed', message: 'exit 1', link: { to: '/bots/$id', id: 'b1' } });
    expect(bot('crashed')).toBeNull();
    expect(bot('error', 'instance_error')).toMatchObject({ title: 'Bot btc-long stopped restarting' });
    // A live-summary message carries the status without the name: still no repeat.
    expect(alertOf(msg('instances', 'instance_summary', { id: 'b1', status: 'error', summary: {} }), seen, names)).toBeNull();
  });

  it('a failed operation is an alert once; running and succeeded ones are not', () => {
    const seen = new Map<string, string>();
    const op = (status: string) => alertOf(msg('operations', 'operation_update', { id: 'o1', environmentId: 'e1', type: 'check_health', status, error: 'refused' }), seen, names);
    expect(op('in_progress')).toBeNull();
    expect(op('failed')).toMatchObject({ title: 'check health of vps-1 failed', message: 'refused', link: { to: '/fleet/$id', id: 'e1' } });
    expect(op('failed')).toBeNull();
    expect(alertOf(msg('operations', 'operation_update', { id: 'o2', environmentId: 'e1', type: 'restart', status: 'succeeded' }), seen, names)).toBeNull();
  });
});
