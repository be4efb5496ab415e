import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf } from '../../http/auth.js';
import { responses } from '../../http/schemas.js';
import { GENERAL_GROUPS, readSchema, writeSchema } from './settings.registry.js';
import type { SettingsService } from './settings.service.js';

const tags = ['settings'];

const SettingsView = Type.Object(Object.fromEntries(GENERAL_GROUPS.map((g) => [g, readSchema(g)])), { additionalProperties: false });
const SettingsBody = Type.Object(Object.fromEntries(GENERAL_GROUPS.map((g) => [g, Type.Optional(writeSchema(g))])), {
  additionalProperties: false,
  minProperties: 1,
});
const PathsView = readSchema('paths');
const PathsBody = Type.Object(writeSchema('paths').properties, { additionalProperties: false, minProperties: 1 });

export const settingsRoutes: FastifyPluginAsyncTypebox<{ settings: SettingsService }> = async (app, { settings }) => {
  app.get(
    '/settings',
    { config: { auth: 'viewer' }, schema: { operationId: 'getSettings', tags, summary: 'All settings; secret ones only say whether they are set', response: responses({ 200: SettingsView }) } },
    async () => settings.view(GENERAL_GROUPS),
  );

  app.put(
    '/settings',
    {
      config: { auth: 'admin' },
      schema: { operationId: 'updateSettings', tags, summary: 'Change some settings; keys not given are kept', body: SettingsBody, response: responses({ 200: SettingsView }) },
    },
    async (request) => {
      await settings.update(request.body, actorOf(request));
      return settings.view(GENERAL_GROUPS);
    },
  );

  app.get(
    '/settings/paths',
    { config: { auth: 'viewer' }, schema: { operationId: 'getPathSettings', tags, summary: "This host's Passivbot runtime and pbfleet's working dirs", response: responses({ 200: PathsView }) } },
    async () => (await settings.view(['paths'])).paths,
  );

  app.put(
    '/settings/paths',
    { config: { auth: 'admin' }, schema: { operationId: 'updatePathSettings', tags, summary: 'Change some paths; keys not given are kept', body: PathsBody, response: responses({ 200: PathsView }) } },
    async (request) => {
      await settings.update({ paths: request.body }, actorOf(request));
      return (await settings.view(['paths'])).paths;
    },
  );
};
