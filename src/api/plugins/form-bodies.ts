import fp from 'fastify-plugin';
import { AppError } from '../../domain/errors.ts';

// Seed 003's Scenario 2 posts JSON with `curl -d '{"username": …}'` and no Content-Type, which curl sends as
// application/x-www-form-urlencoded. Such a body is read as the JSON it is; a real form (`-d username=admin`) as its
// fields, which the route's schema then checks (and coerces) like any body. Nothing authenticates by cookie, so a
// cross-site form gains nothing from this: every route but the public login needs a credential header.
export default fp(async (app) => {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (!/^\s*[[{]/.test(text)) return done(null, Object.fromEntries(new URLSearchParams(text)));
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new AppError('VALIDATION_ERROR', 'Body is not valid JSON'));
    }
  });
});
