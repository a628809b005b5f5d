// A real OpenID Connect provider for the tests (npm oauth2-mock-server), with the faults
// a hostile or broken provider produces. The test picks a fault by the client id it
// registers: "good", "unverified", "nonce-missing", "nonce-wrong", "aud-wrong",
// "iss-wrong", "azp-wrong", "expired", "rotate" (signs with a new key, published in the
// JWKS from then on), "foreign" (signs with a key never published). Anything after a "~"
// is free text. Like a real provider, the token endpoint refuses a redirect_uri other
// than the authorization request's.
//
// Prints one JSON line {"issuer": "..."} when listening; exits when its stdin closes.
import { generateKeyPairSync, createPrivateKey, sign as rsaSign } from 'node:crypto';
import { OAuth2Server } from 'oauth2-mock-server';

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');

function newKey(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256' };
}
const rotated = newKey('rotated-key');
const foreign = newKey('never-published');
let rotatedPublished = false;

const redirects = new Map();
server.service.on('beforeAuthorizeRedirect', (authorizeRedirectUri, req) => {
  redirects.set(authorizeRedirectUri.url.searchParams.get('code'), req.query.redirect_uri);
});

function faultOf(req) {
  const auth = req.headers.authorization || '';
  let client = req.body.client_id || '';
  if (auth.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString();
    client = decodeURIComponent(decoded.slice(0, decoded.indexOf(':')).replace(/\+/g, ' '));
  }
  return client.split('~')[0];
}

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function signWith(jwk, payload) {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: jwk.kid })}.${b64(payload)}`;
  const signature = rsaSign('RSA-SHA256', Buffer.from(input), createPrivateKey({ key: jwk, format: 'jwk' }));
  return `${input}.${signature.toString('base64url')}`;
}

server.service.on('beforeTokenSigning', (token, req) => {
  const fault = faultOf(req);
  const p = token.payload;
  if (!p.aud) return; // the access token
  p.email = 'buyer@example.com';
  p.email_verified = fault !== 'unverified';
  p.name = 'Jane Buyer';
  const now = Math.floor(Date.now() / 1000);
  switch (fault) {
    case 'nonce-missing': delete p.nonce; break;
    case 'nonce-wrong': p.nonce = 'not-the-nonce'; break;
    case 'aud-wrong': p.aud = 'someone-else'; break;
    case 'iss-wrong': p.iss = 'https://evil.example'; break;
    case 'azp-wrong': p.azp = 'someone-else'; break;
    case 'expired': p.iat = now - 7200; p.exp = now - 3600; break;
  }
});

server.service.on('beforeResponse', (response, req) => {
  if (req.body.grant_type !== 'authorization_code') return;
  const expected = redirects.get(req.body.code);
  redirects.delete(req.body.code);
  if (expected === undefined || expected !== req.body.redirect_uri) {
    response.statusCode = 400;
    response.body = { error: 'invalid_grant', error_description: 'redirect_uri does not match the authorization request' };
    return;
  }
  const fault = faultOf(req);
  if (!response.body.id_token || (fault !== 'rotate' && fault !== 'foreign')) return;
  const payload = JSON.parse(Buffer.from(response.body.id_token.split('.')[1], 'base64url').toString());
  if (fault === 'rotate' && !rotatedPublished) {
    rotatedPublished = true;
    server.issuer.keys.add(rotated); // published in the JWKS from now on
  }
  response.body.id_token = signWith(fault === 'rotate' ? rotated : foreign, payload);
});

// OAuth-only providers read the user from here (the generic `oauth2` preset's test).
server.service.on('beforeUserinfo', (userInfoResponse) => {
  userInfoResponse.body = { sub: 'johndoe-oauth', email: 'buyer@example.com', email_verified: true, name: 'Jane Buyer' };
});

await server.start(0, '127.0.0.1');
process.stdout.write(JSON.stringify({ issuer: server.issuer.url }) + '\n');
process.stdin.on('end', async () => { await server.stop(); process.exit(0); });
process.stdin.resume();
