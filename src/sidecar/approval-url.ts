/**
 * Where a person approves a held call, showing that call first:
 * PORTCULLIS_APPROVAL_PAGE_URL; else, following a controller, the
 * controller's page (its approvals are there); else this gate's admin port.
 */
import type { SidecarConfig } from '../config/config.ts';

export function approvalPageUrl(config: Pick<SidecarConfig, 'approvalPageUrl' | 'controllerUrl' | 'adminHost' | 'adminPort'>, approvalId: string): string {
  const { approvalPageUrl: configured, controllerUrl, adminHost, adminPort } = config;
  const host = adminHost.includes(':') ? `[${adminHost}]` : adminHost;
  const page = new URL(configured || (controllerUrl ? new URL('/approvals/', controllerUrl).href : `http://${host}:${adminPort}/approvals/`));
  page.searchParams.set('id', approvalId);
  return page.href;
}
