import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';

type Directives = Record<string, string[]>;

// Security headers on every answer (helmet's defaults: nosniff, frame-ancestors none, no referrer across origins,
// same-origin opener). The content security policy is the one a web console served from this origin would live
// under: scripts, styles, fonts and connections from this origin only, no inline script or style, images also
// as data: URIs (QR codes).
const SITE: Directives = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  imgSrc: ["'self'", 'data:'],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'"],
};

// The two pages packages render for us set inline styles (style elements and attributes), and bull-board links
// Google Fonts: their paths get the site's policy widened for that alone. Scripts stay this origin's everywhere.
const PAGES: [prefix: string, directives: Directives][] = [
  ['/docs', { ...SITE, styleSrc: ["'self'", "'unsafe-inline'"] }],
  [
    '/admin/queues',
    { ...SITE, styleSrc: ["'self'", "'unsafe-inline'", 'https://fonts.googleapis.com'], fontSrc: ["'self'", 'https://fonts.gstatic.com'] },
  ],
];

const headerOf = (directives: Directives) =>
  Object.entries(directives)
    .map(([name, values]) => [name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), ...values].join(' '))
    .join('; ');

// HSTS only when clients reach the API over TLS (HSTS_MAX_AGE set, e.g. behind a TLS-terminating proxy): sent over
// plain HTTP it is ignored at best, and it would pin browsers to HTTPS on a host that has none.
export default fp<{ hstsMaxAgeMs: number | undefined }>(async (app, { hstsMaxAgeMs }) => {
  const tls: Directives = hstsMaxAgeMs ? { upgradeInsecureRequests: [] } : {};
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { ...SITE, ...tls } },
    strictTransportSecurity: hstsMaxAgeMs ? { maxAge: Math.floor(hstsMaxAgeMs / 1000), includeSubDomains: false } : false,
    // The API is called from other origins (CORS_ORIGINS, seed 004's page): its answers must be readable there.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
  const pages = PAGES.map(([prefix, directives]) => [prefix, headerOf({ ...directives, ...tls })] as const);
  app.addHook('onSend', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    const page = pages.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`));
    if (page) reply.header('content-security-policy', page[1]);
  });
});
