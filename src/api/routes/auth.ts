/**
 * Signing a browser in to the web app (src/api/sessions.ts): a code from `chilly open` or the
 * pasted token becomes a session cookie; signing out ends the session on the server.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ChillyError } from '../../domain/errors.js';
import { routeSchema } from '../contract.js';
import type { AuthFailureLimiter } from '../security.js';
import { cookieValue, SESSION_COOKIE, type Sessions, sessionCookie } from '../sessions.js';

export interface AuthRoutesOptions {
  sessions: Sessions;
  /** Whether a string is the API token (constant time). */
  tokenMatches: (authorization: string | undefined) => boolean;
  limiter: AuthFailureLimiter;
}

interface SignInBody {
  code?: string;
  token?: string;
}

/** Where the server is, as the caller addressed it (the Host header passed the allow-list). */
function ownOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.headers.host ?? '127.0.0.1'}`;
}

export async function authRoutes(app: FastifyInstance, options: AuthRoutesOptions): Promise<void> {
  const { sessions } = options;

  app.post('/auth/sign-in-codes', { schema: routeSchema('post', '/auth/sign-in-codes') }, (request, reply) => {
    const { code, expiresAt } = sessions.issueCode();
    return reply
      .code(201)
      .send({ code, url: `${ownOrigin(request)}/#signin=${code}`, expiresAt: expiresAt.toISOString() });
  });

  app.get('/auth/session', { schema: routeSchema('get', '/auth/session') }, (request, reply) => {
    const expiresAt = sessions.expiresAt(cookieValue(request.headers.cookie, SESSION_COOKIE));
    if (request.headers.authorization === undefined && expiresAt !== undefined) {
      return reply.send({ signedIn: true, via: 'session', expiresAt: expiresAt.toISOString() });
    }
    return reply.send({ signedIn: true, via: 'token' });
  });

  app.post<{ Body: SignInBody }>(
    '/auth/session',
    { config: { public: true }, schema: routeSchema('post', '/auth/session') },
    (request, reply) => signIn(request, reply, options),
  );

  app.delete(
    '/auth/session',
    { config: { public: true }, schema: routeSchema('delete', '/auth/session') },
    (request, reply) => {
      const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
      sessions.close(id);
      return reply
        .header('set-cookie', sessionCookie('', new Date(0)))
        .code(204)
        .send();
    },
  );
}

function signIn(
  request: FastifyRequest<{ Body: SignInBody }>,
  reply: FastifyReply,
  { sessions, tokenMatches, limiter }: AuthRoutesOptions,
): FastifyReply {
  const address = request.ip;
  const waitMs = limiter.retryAfterMs(address);
  if (waitMs > 0) {
    reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
    throw new ChillyError('rate_limited');
  }
  const { code, token } = request.body;
  const valid = code !== undefined ? sessions.redeemCode(code) : token !== undefined && tokenMatches(`Bearer ${token}`);
  if (!valid) {
    limiter.recordFailure(address);
    reply.header('www-authenticate', 'Bearer');
    request.log.warn(
      { address, reason: code !== undefined ? 'sign-in code unknown, used or expired' : 'wrong token' },
      'sign-in refused',
    );
    throw new ChillyError(
      'unauthorized',
      code !== undefined
        ? 'This sign-in link was used already or has expired: run `chilly open` again.'
        : 'That is not the API token.',
    );
  }
  limiter.recordSuccess(address);
  const session = sessions.open();
  return reply.header('set-cookie', sessionCookie(session.id, session.expiresAt)).code(204).send();
}
