import tls from 'node:tls';

// Makes this thread's TLS (Baileys' uploads over node:https, its downloads over fetch) trust the simulator's
// media certificate, on top of the usual roots. Verification stays on. Other processes take NODE_EXTRA_CA_CERTS.
export function trustSimulator(caPem: string): void {
  const trusted = tls.getCACertificates('default');
  if (!trusted.includes(caPem)) tls.setDefaultCACertificates([...trusted, caPem]);
}
