/**
 * The container image's HEALTHCHECK: exits 0 when this Pod answers `GET /healthz` with 200, 1
 * otherwise. It reads the address the way `pod` does, from POD_HOST, POD_PORT and POD_TLS_CERT
 * (the image is configured by environment); a wildcard address is reached on loopback.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { operatorRoutes } from '@pod/protocol';
import { defaultConfig } from './config.js';

const TIMEOUT_MS = 4_000;
const { POD_HOST, POD_PORT, POD_TLS_CERT } = process.env;
const host = !POD_HOST || POD_HOST === '0.0.0.0' || POD_HOST === '::' ? '127.0.0.1' : POD_HOST;
const port = Number(POD_PORT ?? defaultConfig().port);
// The certificate names the public host, not this address; the probe sends nothing secret.
const request = POD_TLS_CERT ? httpsRequest : httpRequest;

const probe = request(
  { host, port, path: operatorRoutes.healthz, timeout: TIMEOUT_MS, rejectUnauthorized: false },
  (response) => {
    response.resume();
    if (response.statusCode === 200) process.exit(0);
    console.error(`pod healthcheck: ${operatorRoutes.healthz} answered ${response.statusCode}`);
    process.exit(1);
  },
);
probe.on('timeout', () => probe.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
probe.on('error', (error) => {
  console.error(`pod healthcheck: ${host}:${port}: ${error.message}`);
  process.exit(1);
});
probe.end();
