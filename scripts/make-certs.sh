#!/usr/bin/env bash
# Makes a local certificate authority, a server certificate and a client
# certificate for nats/tls.conf (development and tests; production uses the
# organisation's CA). Usage: scripts/make-certs.sh [dir]   (default: ./certs,
# git-ignored). Writes:
#   ca.pem, ca-key.pem                    the CA (keep ca-key.pem private)
#   server-cert.pem, server-key.pem       for localhost, 127.0.0.1, ::1, n1, n2, n3
#   client-cert.pem, client-key.pem       a client certificate (mutual TLS)
# Existing files are replaced. Needs openssl.
set -euo pipefail
dir="${1:-certs}"
days="${CERT_DAYS:-825}"
command -v openssl >/dev/null || { echo "error: openssl not found (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"

ext="$(mktemp)"
trap 'rm -f "$ext" server.csr client.csr ca.srl' EXIT

# The CA.
openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days "$days" \
  -subj "/CN=trader dev CA" -keyout ca-key.pem -out ca.pem 2>/dev/null

# Server: names every way the platform reaches nats-server (loopback, the
# compose nodes n1..n3).
cat >"$ext" <<'EOF'
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1, DNS:n1, DNS:n2, DNS:n3
EOF
openssl req -new -nodes -newkey rsa:2048 -subj "/CN=nats-server" \
  -keyout server-key.pem -out server.csr 2>/dev/null
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
  -days "$days" -sha256 -extfile "$ext" -out server-cert.pem 2>/dev/null

# Client (mutual TLS).
cat >"$ext" <<'EOF'
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
EOF
openssl req -new -nodes -newkey rsa:2048 -subj "/CN=trader client" \
  -keyout client-key.pem -out client.csr 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
  -days "$days" -sha256 -extfile "$ext" -out client-cert.pem 2>/dev/null

chmod 600 ca-key.pem server-key.pem client-key.pem
openssl verify -CAfile ca.pem server-cert.pem client-cert.pem >/dev/null
echo "certificates in $(pwd): ca.pem server-cert.pem server-key.pem client-cert.pem client-key.pem"
