import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '@slack/bolt';
import type { Router } from 'express';
import type { FormRebuilder } from '../slack/listeners/actions/template-form-actions.js';
import type { WaSubcommandHandler } from '../slack/listeners/commands/wa-command.js';

export type Lifecycle = {
  /** After migrations, before the HTTP server listens (e.g. releasing a crashed run's leases). */
  prepare?(): Promise<void>;
  /** Once the server listens and the job pools run. */
  start?(): void;
  /** While stopping, before the job pools stop. */
  stop?(): Promise<void>;
  /** After the job pools stopped: last reports. */
  drain?(): Promise<void>;
};

export type ProviderWebhookHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * What the features add to the app's entry points. Each feature registers its own Slack
 * listeners, routes and lifecycle here; the app wires them once every feature is installed.
 */
export type FeatureRegistry = {
  subcommand(name: string, handler: WaSubcommandHandler): void;
  slackListeners(register: (app: App) => void): void;
  /** A modal holding the template form, rebuilt when its selects change (see template-form-actions). */
  templateForm(callbackId: string, rebuild: FormRebuilder, extraSelects?: Record<string, 'sendingNumberId'>): void;
  routes(router: Router): void;
  /** Provider webhooks take a plain node:http path of their own (see whatsapp-webhook-routes.ts). */
  providerWebhook(handler: ProviderWebhookHandler): void;
  lifecycle(hooks: Lifecycle): void;
};

export type Registrations = {
  subcommands: Map<string, WaSubcommandHandler>;
  slackListeners: ((app: App) => void)[];
  templateForms: Record<string, FormRebuilder>;
  templateFormSelects: Record<string, 'sendingNumberId'>;
  routes: Router[];
  providerWebhook: ProviderWebhookHandler | null;
  lifecycles: Lifecycle[];
};

export function createFeatureRegistry(): FeatureRegistry & { readonly registered: Registrations } {
  const registered: Registrations = {
    subcommands: new Map(),
    slackListeners: [],
    templateForms: {},
    templateFormSelects: {},
    routes: [],
    providerWebhook: null,
    lifecycles: [],
  };
  return {
    registered,
    subcommand(name, handler) {
      registered.subcommands.set(name, handler);
    },
    slackListeners(register) {
      registered.slackListeners.push(register);
    },
    templateForm(callbackId, rebuild, extraSelects = {}) {
      registered.templateForms[callbackId] = rebuild;
      Object.assign(registered.templateFormSelects, extraSelects);
    },
    routes(router) {
      registered.routes.push(router);
    },
    providerWebhook(handler) {
      registered.providerWebhook = handler;
    },
    lifecycle(hooks) {
      registered.lifecycles.push(hooks);
    },
  };
}
