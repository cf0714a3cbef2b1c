/**
 * Messages of the preview workflow (id `preview/<service>/<pr>`), shared with the webhook receiver
 * and the CLI. The receiver signals-with-start `previewEvent`; `previewStatus` answers plain JSON.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PreviewEvent, PreviewPhase } from '../domain/preview.js';

export const PREVIEW_WORKFLOW = 'previewEnvironment';

export const previewEventSignal = defineSignal<[PreviewEvent]>('previewEvent');

export interface PreviewStatus {
  service: string;
  pr: number;
  name: string;
  state: PreviewPhase;
  url: string | null;
  /** The commit the preview runs, and the newest one pushed. */
  shaDeployed: string | null;
  shaWanted: string | null;
  waitsFor: string;
  deploys: number;
  lastError: string | null;
  ending: 'closed' | 'merged' | 'idle' | null;
}

export const previewStatusQuery = defineQuery<PreviewStatus>('previewStatus');
