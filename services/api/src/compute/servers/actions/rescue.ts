// rescue (200 with the admin password) and unrescue (202): owner or admin; the rescue boots the server's image unless
// another one is named. Both are a CAS on the task state, then a cast to the server's host.
import { Type } from '@sinclair/typebox';
import { BadRequest, NotFound, RESCUE_REQUESTED_IMAGE_KEY } from '@ferry/common/domain';
import { getImage } from '../../../image/repo';
import { acceptTask } from './accept';
import { generatePassword } from './admin-password';
import { RESCUE_RULES } from './rules';
import { bareAction } from './schemas';
import type { ServerAction } from './types';

const RescueBody = Type.Object({
  rescue: Type.Union([Type.Null(), Type.Object({
    adminPass: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    rescue_image_ref: Type.Optional(Type.String({ format: 'uuid' })),
  }, { additionalProperties: false })]),
}, { additionalProperties: false });

const rescue: ServerAction = {
  name: 'rescue',
  schema: RescueBody,
  async run(env, instance, body) {
    const ds = env.deps.db.dataSource;
    const opts = (body.rescue ?? {}) as { adminPass?: string; rescue_image_ref?: string };
    const imageRef = opts.rescue_image_ref ?? instance.image_ref;
    if (opts.rescue_image_ref) {
      await getImage(ds, env.req.ctx, opts.rescue_image_ref).catch((err: unknown) => {
        if (err instanceof NotFound) throw new BadRequest(`Image ${opts.rescue_image_ref} could not be found.`);
        throw err;
      });
    }
    // The image is kept with the task for the reconciler, which runs a lost rescue again on the instance's compute.
    await acceptTask(ds, env.req.ctx, instance, RESCUE_RULES.rescue, (ctx, host) => env.rpc.compute.rescueInstance(ctx, host, instance.uuid, imageRef), {
      remember: { [RESCUE_REQUESTED_IMAGE_KEY]: imageRef },
    });
    return { status: 200, body: { adminPass: opts.adminPass ?? generatePassword() } };
  },
};

const unrescue: ServerAction = {
  name: 'unrescue',
  schema: bareAction('unrescue'),
  async run(env, instance) {
    await acceptTask(env.deps.db.dataSource, env.req.ctx, instance, RESCUE_RULES.unrescue, (ctx, host) => env.rpc.compute.unrescueInstance(ctx, host, instance.uuid));
    return { status: 202 };
  },
};

export const RESCUE_ACTIONS: readonly ServerAction[] = [rescue, unrescue];
